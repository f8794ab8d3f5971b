package fuzz

import (
	"bytes"
	"encoding/binary"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rawload/rawload/bpf"
	"github.com/rawload/rawload/elf"
	"github.com/rawload/rawload/ldimm64"
	"github.com/rawload/rawload/reloc"
)

// fuzzing reports whether the test binary runs a fuzz target (go test
// -fuzz), as opposed to running the seeds as regression tests.
func fuzzing() bool {
	f := flag.Lookup("test.fuzz")
	return f != nil && f.Value.String() != ""
}

// smallSeeds are the objects of testdata/seeds: a few KB each, with one of
// every construct the relocator handles (see testdata/README.md), so
// that a mutation is cheap and a new input minimises in a moment.
func smallSeeds(tb testing.TB) map[string][]byte {
	tb.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "seeds", "*.o"))
	if len(files) < 3 {
		tb.Fatalf("only %d seed objects in testdata/seeds", len(files))
	}
	seeds := make(map[string][]byte)
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			tb.Fatal(err)
		}
		seeds[filepath.Base(file)] = data
	}
	return seeds
}

// seeds adds the small seed objects and, unless fuzzing, every other test
// object too: rawload's and cilium/ebpf's, both byte orders. Those run as
// regression inputs with `go test`, but would make a fuzzer spend its
// time minimising tens of KB instead of mutating.
func seeds(f *testing.F) {
	for _, data := range smallSeeds(f) {
		f.Add(data)
	}
	if fuzzing() {
		return
	}
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

// FuzzLink links objects to final instructions, as Open does but with
// made-up fd numbers: CO-RE relocations are applied against the fixed
// target BTF of testdata/seeds, so no kernel is involved.
func FuzzLink(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, err := reloc.Link(data, &reloc.LinkOptions{TargetBTF: targetFor(data)})
		if err != nil {
			return
		}
		checkObject(t, obj)
	})
}

// checkObject asserts that everything Link returned can be used as an
// index or offset without further checks, and patches every map site as
// Open does.
func checkObject(t *testing.T, obj *reloc.Object) {
	for _, p := range obj.Programs {
		if len(p.Insns)%8 != 0 {
			t.Fatalf("%s: %d instruction bytes", p.Name, len(p.Insns))
		}
		final := bytes.Clone(p.Insns)
		for _, s := range p.Sites {
			if s.Map < 0 || s.Map >= len(obj.Maps) {
				t.Fatalf("%s: site refers to map %d of %d", p.Name, s.Map, len(obj.Maps))
			}
			if s.Offset < 0 || s.Offset+ldimm64.Size > len(p.Insns) || !ldimm64.IsLoadImm64(p.Insns[s.Offset:]) {
				t.Fatalf("%s: site at %d is not an ld_imm64 inside %d bytes", p.Name, s.Offset, len(p.Insns))
			}
			var err error
			switch s.Kind {
			case reloc.SiteMapFD:
				err = ldimm64.PatchMapFD(final[s.Offset:], obj.ByteOrder, int32(100+s.Map))
			case reloc.SiteMapValue:
				err = ldimm64.PatchMapValue(final[s.Offset:], obj.ByteOrder, int32(100+s.Map), s.ValueOffset)
				if s.ValueOffset >= obj.Maps[s.Map].ValueSize && obj.Maps[s.Map].ValueSize > 0 {
					t.Fatalf("%s: site at %d: offset %d in a value of %d bytes", p.Name, s.Offset, s.ValueOffset, obj.Maps[s.Map].ValueSize)
				}
			default:
				t.Fatalf("%s: site kind %d", p.Name, s.Kind)
			}
			if err != nil {
				t.Fatalf("%s: patching site at %d: %v", p.Name, s.Offset, err)
			}
		}
		for _, m := range p.Maps {
			if m < 0 || m >= len(obj.Maps) {
				t.Fatalf("%s: uses map %d of %d", p.Name, m, len(obj.Maps))
			}
		}
		for _, e := range p.Externs {
			if e.Offset < 0 || e.Offset%8 != 0 || e.Offset+8 > len(p.Insns) {
				t.Fatalf("%s: extern %s at %d outside %d bytes", p.Name, e.Name, e.Offset, len(p.Insns))
			}
			if e.Kind != reloc.ExternKfuncCall && e.Offset+ldimm64.Size > len(p.Insns) {
				t.Fatalf("%s: %s %s at %d: no room for an ld_imm64 in %d bytes", p.Name, e.Kind, e.Name, e.Offset, len(p.Insns))
			}
		}
		if p.FuncInfoRecSize > 0 && len(p.FuncInfo)%int(p.FuncInfoRecSize) != 0 {
			t.Fatalf("%s: %d bytes of func info in records of %d", p.Name, len(p.FuncInfo), p.FuncInfoRecSize)
		}
		if p.LineInfoRecSize > 0 && len(p.LineInfo)%int(p.LineInfoRecSize) != 0 {
			t.Fatalf("%s: %d bytes of line info in records of %d", p.Name, len(p.LineInfo), p.LineInfoRecSize)
		}
		if p.InsnCount() > maxLinkedInsns {
			t.Fatalf("%s: %d instructions linked", p.Name, p.InsnCount())
		}
	}
	for _, m := range obj.Maps {
		for _, v := range m.Values {
			if v.Map < -1 || v.Map >= len(obj.Maps) {
				t.Fatalf("map %s: value refers to map %d of %d", m.Name, v.Map, len(obj.Maps))
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

// maxLinkedInsns is the kernel's BPF_COMPLEXITY_LIMIT_INSNS: no linked
// program may be longer.
const maxLinkedInsns = 1_000_000

// sectionBases are the objects FuzzBTF and FuzzBTFExt put a fuzzed
// section into, chosen by the input's first argument.
var sectionBases = sync.OnceValue(func() [][]byte {
	var bases [][]byte
	for _, name := range []string{"seeds/tiny.o", "seeds/tiny-eb.o", "seeds/tiny_values.o", "externs.o", "kfunc.o", "core.o"} {
		data, err := os.ReadFile(filepath.Join("..", "testdata", name))
		if err != nil {
			panic(err)
		}
		bases = append(bases, data)
	}
	return bases
})

// replaceSection returns a copy of the object data whose section called
// name holds contents: appended after everything else, the section
// header pointing at them.
func replaceSection(data []byte, name string, contents []byte) ([]byte, error) {
	f, err := elf.Parse(data)
	if err != nil {
		return nil, err
	}
	sec := f.Section(name)
	if sec == nil {
		return nil, os.ErrNotExist
	}
	out := make([]byte, (len(data)+7)&^7, (len(data)+7)&^7+len(contents))
	copy(out, data)
	off := len(out)
	out = append(out, contents...)
	bo := f.ByteOrder
	shdr := out[bo.Uint64(out[40:])+uint64(sec.Index)*64:]
	bo.PutUint64(shdr[24:], uint64(off))
	bo.PutUint64(shdr[32:], uint64(len(contents)))
	return out, nil
}

// fuzzSection is FuzzBTF and FuzzBTFExt: the fuzzer mutates one section
// only, in an otherwise valid object, and the whole object is linked to
// final instructions and described.
func fuzzSection(f *testing.F, name string) {
	for i, data := range sectionBases() {
		f.Add(uint8(i), bytes.Clone(section(f, data, name).Data))
	}
	f.Fuzz(func(t *testing.T, base uint8, contents []byte) {
		bases := sectionBases()
		data, err := replaceSection(bases[int(base)%len(bases)], name, contents)
		if err != nil {
			t.Fatal(err)
		}
		if obj, err := reloc.Link(data, &reloc.LinkOptions{TargetBTF: targetFor(data)}); err == nil {
			checkObject(t, obj)
		}
		if spec, err := bpf.ParseSpec(data); err == nil {
			checkSpec(t, spec)
		}
	})
}

// FuzzBTF mutates an object's .BTF: types, strings, datasecs (.ksyms,
// .kconfig, .maps), as cilium/ebpf's reader gives them to the relocator.
func FuzzBTF(f *testing.F) { fuzzSection(f, ".BTF") }

// FuzzBTFExt mutates an object's .BTF.ext: func_info, line_info and
// CO-RE relocation records, and the section names they are keyed by.
func FuzzBTFExt(f *testing.F) { fuzzSection(f, ".BTF.ext") }

// FuzzParseSpec describes objects without a kernel, as `rawload inspect`
// does with files from anywhere: BTF type names included.
func FuzzParseSpec(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := bpf.ParseSpec(data)
		if err != nil {
			return
		}
		checkSpec(t, spec)
	})
}

func checkSpec(t *testing.T, spec *bpf.Spec) {
	for _, p := range spec.Programs {
		for _, m := range p.Maps {
			if spec.Map(m) == nil {
				t.Fatalf("program %s uses map %q, which the spec lacks", p.Name, m)
			}
		}
		if p.Insns > maxLinkedInsns {
			t.Fatalf("program %s: %d instructions", p.Name, p.Insns)
		}
	}
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

// FuzzLoadImm64 decodes, re-encodes and patches one instruction: a
// decoded instruction survives a round trip, and a patch writes only the
// source register and the immediates.
func FuzzLoadImm64(f *testing.F) {
	f.Add([]byte{0x18, 0x11, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0}, int32(3), uint32(8))
	f.Add([]byte{0x18, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, int32(-1), uint32(0))
	f.Add([]byte{0x18, 0x10, 0xff, 0x7f, 0, 0, 0, 0x80, 0, 0, 0, 0, 0xff, 0, 0, 0}, int32(1<<30), uint32(1<<31))
	f.Fuzz(func(t *testing.T, data []byte, fd int32, off uint32) {
		for _, bo := range byteOrders {
			insn, err := ldimm64.Decode(data, bo)
			if err != nil {
				for _, patch := range patches(fd, off) {
					if patch.fn(bytes.Clone(data), bo) == nil {
						t.Fatalf("%s patched bytes Decode refuses: %v", patch.name, err)
					}
				}
				continue
			}
			out := make([]byte, ldimm64.Size)
			if err := ldimm64.Encode(out, bo, insn); err != nil {
				t.Fatal(err)
			}
			again, err := ldimm64.Decode(out, bo)
			if err != nil || again != insn {
				t.Fatalf("round trip: %+v became %+v (%v)", insn, again, err)
			}
			for _, patch := range patches(fd, off) {
				b := bytes.Clone(data)
				if err := patch.fn(b, bo); err != nil {
					t.Fatalf("%s: %v", patch.name, err)
				}
				got, err := ldimm64.Decode(b, bo)
				if err != nil {
					t.Fatalf("%s: result does not decode: %v", patch.name, err)
				}
				if got.Dst != insn.Dst || got.Off != insn.Off || got.Src != patch.src || got.Lo != patch.lo || got.Hi != patch.hi {
					t.Fatalf("%s of %+v gave %+v", patch.name, insn, got)
				}
				if !bytes.Equal(b[ldimm64.Size:], data[ldimm64.Size:]) {
					t.Fatalf("%s wrote past the instruction", patch.name)
				}
			}
		}
	})
}

type patchCase struct {
	name   string
	fn     func([]byte, binary.ByteOrder) error
	src    uint8
	lo, hi uint32
}

func patches(fd int32, off uint32) []patchCase {
	return []patchCase{
		{name: "PatchMapFD", fn: func(b []byte, bo binary.ByteOrder) error { return ldimm64.PatchMapFD(b, bo, fd) }, src: ldimm64.PseudoMapFD, lo: uint32(fd)},
		{name: "PatchMapValue", fn: func(b []byte, bo binary.ByteOrder) error { return ldimm64.PatchMapValue(b, bo, fd, off) }, src: ldimm64.PseudoMapValue, lo: uint32(fd), hi: off},
		{name: "PatchFunc", fn: func(b []byte, bo binary.ByteOrder) error { return ldimm64.PatchFunc(b, bo, fd) }, src: ldimm64.PseudoFunc, lo: uint32(fd)},
		{name: "PatchBTFID", fn: func(b []byte, bo binary.ByteOrder) error { return ldimm64.PatchBTFID(b, bo, off, fd) }, src: ldimm64.PseudoBTFID, lo: off, hi: uint32(fd)},
	}
}
