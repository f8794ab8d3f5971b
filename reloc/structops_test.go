package reloc

import (
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/rawload/rawload/elf"
	"github.com/rawload/rawload/internal/uapi"
)

func TestStructOpsMaps(t *testing.T) {
	data, err := os.ReadFile("../testdata/structops.o")
	if err != nil {
		t.Fatal(err)
	}
	obj, err := Link(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	link, legacy := obj.Map("rawload_cc"), obj.Map("rawload_cc_legacy")
	if link == nil || legacy == nil {
		t.Fatalf("struct_ops maps missing: %v", obj.Maps)
	}
	for _, m := range []*MapSpec{link, legacy} {
		if m.Type != uapi.MapTypeStructOps || m.Source != MapStructOps || m.StructOps == nil || m.Err != nil {
			t.Fatalf("%s: type %d source %v struct_ops %v err %v", m.Name, m.Type, m.Source, m.StructOps, m.Err)
		}
		if m.StructOps.Type.Name != "tcp_congestion_ops" || len(m.Contents) != int(m.StructOps.Type.Size) {
			t.Errorf("%s: type %s, %d bytes of contents", m.Name, m.StructOps.Type.Name, len(m.Contents))
		}
	}
	if link.Flags != uapi.FlagLink || legacy.Flags != 0 {
		t.Errorf("flags: link %#x, legacy %#x; want BPF_F_LINK only on .struct_ops.link", link.Flags, legacy.Flags)
	}
	want := []StructOpsFunc{
		{"ssthresh", 0, "rl_ssthresh"}, {"cong_avoid", 8, "rl_cong_avoid"},
		{"undo_cwnd", 16, "rl_undo_cwnd"}, {"init", 24, "rl_init"},
	}
	if !slices.Equal(link.StructOps.Funcs, want) {
		t.Errorf("rawload_cc functions: %v, want %v", link.StructOps.Funcs, want)
	}
	if !slices.Equal(legacy.StructOps.Funcs, want[:3]) {
		t.Errorf("rawload_cc_legacy functions: %v, want %v", legacy.StructOps.Funcs, want[:3])
	}
	if got := string(link.Contents[36:46]); got != "rawload_cc" {
		t.Errorf("name member of rawload_cc: %q", got)
	}
	for prog, member := range map[string]string{"rl_ssthresh": "ssthresh", "rl_init": "init"} {
		p := obj.Program(prog)
		if p.StructOps == nil || *p.StructOps != (StructOpsUse{"tcp_congestion_ops", member}) {
			t.Errorf("%s implements %v, want tcp_congestion_ops.%s", prog, p.StructOps, member)
		}
	}
	if p := obj.Program("rl_unused"); p.StructOps != nil {
		t.Errorf("rl_unused implements %v, want nothing", p.StructOps)
	}
}

// TestStructOpsMalformed: a relocation of a struct_ops section that
// points anywhere but a function pointer member is refused, never a panic.
func TestStructOpsMalformed(t *testing.T) {
	data, err := os.ReadFile("../testdata/structops.o")
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	sec := f.Section(".rel.struct_ops.link")
	if sec == nil {
		t.Fatal("no .rel.struct_ops.link")
	}
	// The first relocation's r_offset: from member ssthresh (0) to flags (32).
	bad := slices.Clone(data)
	bad[sec.Offset] = 32
	obj, err := Link(bad, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := obj.Map("rawload_cc"); !errors.Is(m.Err, ErrMalformed) {
		t.Errorf("relocation onto a data member: map error %v, want ErrMalformed", m.Err)
	}
	// Past the end of the section.
	bad[sec.Offset] = 0xf0
	if _, err := Link(bad, nil); err == nil {
		t.Errorf("relocation past the section: no error")
	}
}
