package bpf

import (
	"encoding/binary"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"

	"github.com/rawload/rawload/elf"
	"github.com/rawload/rawload/internal/uapi"
)

func TestReadSpecLoader(t *testing.T) {
	for _, name := range []string{"loader.o", "loader-eb.o"} {
		t.Run(name, func(t *testing.T) {
			spec, err := ReadSpec(testdata(name))
			if err != nil {
				t.Fatal(err)
			}
			wantOrder := binary.ByteOrder(binary.LittleEndian)
			if name == "loader-eb.o" {
				wantOrder = binary.BigEndian
			}
			if spec.ByteOrder != wantOrder || spec.License != "GPL" {
				t.Errorf("byte order %v, license %q", spec.ByteOrder, spec.License)
			}
			p := spec.Program("prog_counter")
			if p == nil {
				t.Fatal("no prog_counter")
			}
			if p.Section != "socket" || p.Type != uapi.ProgTypeSocketFilter || p.Type.String() != "socket_filter" ||
				p.Insns != 44 || p.Err != nil {
				t.Errorf("prog_counter: %+v", p)
			}
			if got, want := slices.Sorted(slices.Values(p.Maps)), []string{".bss", ".data", "counts", "results"}; !slices.Equal(got, want) {
				t.Errorf("prog_counter maps %q, want %q", got, want)
			}

			rodata := spec.Map(".rodata")
			if rodata == nil || rodata.Source != SourceGlobalData || rodata.Type.String() != "array" ||
				rodata.Flags&uapi.FlagRdOnlyProg == 0 || rodata.ValueType != ".rodata" {
				t.Errorf(".rodata: %+v", rodata)
			}
			i := slices.IndexFunc(spec.Variables, func(v VariableSpec) bool { return v.Name == "str_len_seen" })
			if i < 0 {
				t.Fatal("no variable str_len_seen")
			}
			if v := spec.Variables[i]; v != (VariableSpec{Name: "str_len_seen", Section: ".bss", Offset: 8, Size: 8, Type: "__u64"}) {
				t.Errorf("str_len_seen: %+v", v)
			}
		})
	}
}

func TestReadSpecMapInMap(t *testing.T) {
	spec, err := ReadSpec(testdata("mapinmap.o"))
	if err != nil {
		t.Fatal(err)
	}
	var outer *MapSpec
	for i := range spec.Maps {
		if spec.Maps[i].Inner != nil {
			outer = &spec.Maps[i]
			break
		}
	}
	if outer == nil {
		t.Fatalf("no map of maps in %+v", spec.Maps)
	}
	if outer.Type != uapi.MapTypeArrayOfMaps && outer.Type != uapi.MapTypeHashOfMaps {
		t.Errorf("%s: type %v", outer.Name, outer.Type)
	}
	if outer.Inner.KeySize == 0 || outer.Inner.Type == 0 {
		t.Errorf("%s: inner template %+v", outer.Name, outer.Inner)
	}
}

func TestReadSpecExterns(t *testing.T) {
	spec, err := ReadSpec(testdata("kfunc.o"))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, p := range spec.Programs {
		for _, ext := range p.Externs {
			if ext.Name == "bpf_task_from_pid" {
				kinds = append(kinds, ext.Kind)
			}
		}
	}
	if !slices.Contains(kinds, "kfunc call") {
		t.Errorf("bpf_task_from_pid used as %q, want a kfunc call", kinds)
	}

	spec, err = ReadSpec(testdata("core.o"))
	if err != nil {
		t.Fatal(err)
	}
	core := 0
	for _, p := range spec.Programs {
		core += p.CORERelocations
	}
	if core == 0 {
		t.Error("core.o: no CO-RE relocations counted")
	}
}

// TestParseSpecIsACopy checks that a Spec handed out cannot change the
// Object it describes, nor another Spec.
func TestParseSpecIsACopy(t *testing.T) {
	data, err := os.ReadFile(testdata("loader.o"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseSpec(data)
	if err != nil {
		t.Fatal(err)
	}
	a.Programs[0].Maps[0] = "changed"
	a.Maps[0].MaxEntries = 12345
	b, err := ParseSpec(data)
	if err != nil {
		t.Fatal(err)
	}
	if b.Programs[0].Maps[0] == "changed" || b.Maps[0].MaxEntries == 12345 {
		t.Error("a second ParseSpec sees the first one's changes")
	}
}

func TestObjectSpecIsACopy(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("loader.o"), nil)
	m := obj.Map("counts")
	s := m.Spec()
	s.MaxEntries++
	if m.Spec().MaxEntries == s.MaxEntries {
		t.Error("changing a MapSpec changed the Map")
	}
	ps := obj.Program("prog_counter").Spec()
	ps.Maps[0] = "changed"
	if obj.Program("prog_counter").Spec().Maps[0] == "changed" {
		t.Error("changing a ProgramSpec changed the Program")
	}
	if got := obj.Spec().Program("prog_counter"); got == nil || got.Insns != ps.Insns {
		t.Errorf("Object.Spec: %+v", got)
	}
}

func TestParseSpecMalformed(t *testing.T) {
	data, err := os.ReadFile(testdata("loader.o"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 10, 64, len(data) / 2} {
		if _, err := ParseSpec(data[:n]); err == nil {
			t.Errorf("ParseSpec of the first %d bytes: no error", n)
		}
	}
	if _, err := ParseSpec(data[:64]); !errors.Is(err, elf.ErrMalformed) {
		t.Errorf("truncated object: %v, want elf.ErrMalformed", err)
	}
}

func TestBTFTypeName(t *testing.T) {
	spec, err := ReadSpec(testdata("loader.o"))
	if err != nil {
		t.Fatal(err)
	}
	if counts := spec.Map("counts"); counts == nil || counts.KeyType != "__u32" || counts.ValueType != "__u64" {
		t.Errorf("counts: %+v, want key __u32, value __u64", counts)
	}

	u8 := &btf.Int{Name: "char", Size: 1}
	loop := &btf.Const{}
	loop.Type = loop
	for _, c := range []struct {
		typ  btf.Type
		want string
	}{
		{nil, ""},
		{&btf.Struct{Name: "event"}, "struct event"},
		{&btf.Struct{}, "struct {...}"},
		{&btf.Union{Name: "u"}, "union u"},
		{&btf.Pointer{Target: &btf.Const{Type: u8}}, "const char *"},
		{&btf.Array{Type: u8, Nelems: 16}, "char[16]"},
		{&btf.Typedef{Name: "pid_t", Type: &btf.Int{Name: "int", Size: 4}}, "pid_t"},
		{&btf.Pointer{Target: (*btf.Void)(nil)}, "void *"},
		{&btf.Fwd{Name: "sock", Kind: btf.FwdStruct}, "struct sock"},
	} {
		if got := btfTypeName(c.typ); got != c.want {
			t.Errorf("btfTypeName(%v) = %q, want %q", c.typ, got, c.want)
		}
	}
	// A cycle, which only hostile BTF holds, still ends.
	if got := btfTypeName(loop); !strings.HasSuffix(got, "...") {
		t.Errorf("a const of itself: %q", got)
	}
}
