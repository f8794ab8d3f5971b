package fuzz

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rawload/rawload/bpf"
	"github.com/rawload/rawload/ldimm64"
	"github.com/rawload/rawload/reloc"
)

// seeds adds rawload's test objects and cilium/ebpf's, both byte orders.
func seeds(f *testing.F) {
	patterns := []string{filepath.Join("..", "testdata", "*.o")}
	if out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/cilium/ebpf").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		patterns = append(patterns, filepath.Join(dir, "testdata", "*-e[lb].elf"), filepath.Join(dir, "btf", "testdata", "*-e[lb].elf"))
	}
	n := 0
	for _, pattern := range patterns {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
			n++
		}
	}
	if n < 10 {
		f.Fatalf("only %d seed objects found", n)
	}
}

func FuzzLink(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, err := reloc.Link(data, nil)
		if err != nil {
			return
		}
		checkObject(t, obj)
	})
}

// checkObject asserts that everything Link returned can be used as an
// index or offset without further checks.
func checkObject(t *testing.T, obj *reloc.Object) {
	for _, p := range obj.Programs {
		if len(p.Insns)%8 != 0 {
			t.Fatalf("%s: %d instruction bytes", p.Name, len(p.Insns))
		}
		for _, s := range p.Sites {
			if s.Map < 0 || s.Map >= len(obj.Maps) {
				t.Fatalf("%s: site refers to map %d of %d", p.Name, s.Map, len(obj.Maps))
			}
			if s.Offset < 0 || s.Offset+ldimm64.Size > len(p.Insns) || !ldimm64.IsLoadImm64(p.Insns[s.Offset:]) {
				t.Fatalf("%s: site at %d is not an ld_imm64 inside %d bytes", p.Name, s.Offset, len(p.Insns))
			}
		}
		for _, m := range p.Maps {
			if m < 0 || m >= len(obj.Maps) {
				t.Fatalf("%s: uses map %d of %d", p.Name, m, len(obj.Maps))
			}
		}
	}
	for _, v := range obj.Variables {
		if v.Map < 0 || v.Map >= len(obj.Maps) {
			t.Fatalf("variable %s in map %d of %d", v.Name, v.Map, len(obj.Maps))
		}
		if v.Offset+v.Size > uint64(obj.Maps[v.Map].ValueSize) {
			t.Fatalf("variable %s at %d+%d outside %d bytes", v.Name, v.Offset, v.Size, obj.Maps[v.Map].ValueSize)
		}
	}
}

// FuzzParseSpec describes objects without a kernel, as `rawload inspect`
// does with files from anywhere: BTF type names included.
func FuzzParseSpec(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := bpf.ParseSpec(data)
		if err != nil {
			return
		}
		for _, p := range spec.Programs {
			for _, m := range p.Maps {
				if spec.Map(m) == nil {
					t.Fatalf("program %s uses map %q, which the spec lacks", p.Name, m)
				}
			}
		}
	})
}

// FuzzOpen runs the whole of Open, which creates nothing in the kernel:
// linking, slot reservation and patching. Every fd it takes is given back.
func FuzzOpen(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, err := bpf.OpenBytes(data, nil)
		if err != nil {
			return
		}
		for _, p := range obj.Programs() {
			p.Instructions()
			p.Maps()
		}
		if err := obj.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzLoadImm64(f *testing.F) {
	f.Add([]byte{0x18, 0x11, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0})
	f.Add([]byte{0x18, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		insn, err := ldimm64.Decode(data, nativeOrder)
		if err != nil {
			return
		}
		out := make([]byte, ldimm64.Size)
		if err := ldimm64.Encode(out, nativeOrder, insn); err != nil {
			t.Fatal(err)
		}
		again, err := ldimm64.Decode(out, nativeOrder)
		if err != nil || again != insn {
			t.Fatalf("round trip: %+v became %+v (%v)", insn, again, err)
		}
	})
}
