package fuzz

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf/btf"

	"github.com/rawload/rawload/bpf"
	"github.com/rawload/rawload/elf"
	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/reloc"
)

// These tests build objects that state far more than they hold, and check
// that describing, linking and opening them stays within invariant 6 of
// DESIGN.md: an error naming the limit, quickly, with memory allocated
// in proportion to the file (runtime.MemStats.TotalAlloc counts every
// byte allocated while the call runs, freed or not).

// allocated runs f and returns the bytes it allocated and how long it took.
func allocated(f func()) (uint64, time.Duration) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	f()
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, elapsed
}

// openAll runs the three ways in: reloc.Link, bpf.ParseSpec and
// bpf.OpenBytes (which fails at the same point, before reserving any fd
// slot), checks each fails wrapping want and mentioning msg, and returns
// the most any of them allocated.
func openAll(t *testing.T, data []byte, want error, msg string) uint64 {
	t.Helper()
	var most uint64
	for _, way := range []struct {
		name string
		open func() error
	}{
		{"reloc.Link", func() error { _, err := reloc.Link(data, &reloc.LinkOptions{TargetBTF: targetFor(data)}); return err }},
		{"bpf.ParseSpec", func() error { _, err := bpf.ParseSpec(data); return err }},
		{"bpf.OpenBytes", func() error {
			obj, err := bpf.OpenBytes(data, nil)
			if err == nil {
				obj.Close()
			}
			return err
		}},
	} {
		var err error
		bytes, took := allocated(func() { err = way.open() })
		t.Logf("%s: %d-byte object: %v, %d bytes allocated in %v", way.name, len(data), err, bytes, took)
		if !errors.Is(err, want) {
			t.Fatalf("%s: %v, want %v", way.name, err, want)
		}
		if !strings.Contains(err.Error(), msg) {
			t.Fatalf("%s: %q does not mention %q", way.name, err, msg)
		}
		most = max(most, bytes)
	}
	return most
}

// TestGlobalDataTotal is issue 8's .bss amplification: a 96 KiB file with
// a thousand .bss sections of 64 MiB each, every one within the old
// per-section cap, made Open reserve 64 GiB (a global data map's whole
// value is allocated at Open). The cap is now on the sum.
func TestGlobalDataTotal(t *testing.T) {
	var sections []rawSection
	for i := range 1000 {
		sections = append(sections, rawSection{
			Name: fmt.Sprintf(".bss.%d", i), Type: elf.SHT_NOBITS,
			Flags: elf.SHF_ALLOC | elf.SHF_WRITE, Size: 64 << 20,
		})
	}
	sections = append(sections, rawSection{Name: "license", Type: elf.SHT_PROGBITS, Data: license})
	data := buildELF(t, sections, nil)
	if len(data) > 96<<10 {
		t.Fatalf("%d bytes", len(data))
	}
	most := openAll(t, data, reloc.ErrLimit, "more than the 67108864 rawload accepts for an object")
	if most > 4<<20 {
		t.Errorf("%d bytes allocated for a %d-byte object", most, len(data))
	}

	// Sixteen sections of 4 MiB are exactly the cap, and link.
	sections = sections[:0]
	for i := range 16 {
		sections = append(sections, rawSection{Name: fmt.Sprintf(".bss.%d", i), Type: elf.SHT_NOBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE, Size: 4 << 20})
	}
	obj, err := reloc.Link(buildELF(t, sections, nil), nil)
	if err != nil || len(obj.Maps) != 16 {
		t.Fatalf("64 MiB of .bss in 16 sections: %v", err)
	}
}

// TestKconfigSizeCounts gives the .kconfig datasec (a size stated in BTF
// only) a 1 GiB variable: it counts against the same total.
func TestKconfigSizeCounts(t *testing.T) {
	char := &btf.Int{Name: "char", Size: 1, Encoding: btf.Signed | btf.Char}
	u32 := &btf.Int{Name: "unsigned int", Size: 4}
	huge := &btf.Var{Name: "CONFIG_HUGE", Type: &btf.Array{Index: u32, Type: char, Nelems: 1 << 30}, Linkage: btf.ExternVar}
	b, err := btf.NewBuilder(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Add(&btf.Datasec{Name: ".kconfig", Vars: []btf.VarSecinfo{{Type: huge, Size: 1 << 30}}}); err != nil {
		t.Fatal(err)
	}
	raw, err := b.Marshal(nil, &btf.MarshalOptions{Order: binary.NativeEndian})
	if err != nil {
		t.Fatal(err)
	}
	data := buildELF(t, []rawSection{
		{Name: "license", Type: elf.SHT_PROGBITS, Data: license},
		{Name: ".BTF", Type: elf.SHT_PROGBITS, Data: raw},
	}, []rawSymbol{{Name: "CONFIG_HUGE", Bind: elf.STB_GLOBAL}})
	most := openAll(t, data, reloc.ErrLimit, "section .kconfig: 1073741824 bytes of global data")
	if most > 4<<20 {
		t.Errorf("%d bytes allocated for a %d-byte object", most, len(data))
	}
}

// libraryObject is a .text function of libSlots instructions, called by
// each of programs one-call programs in section socket.
func libraryObject(t *testing.T, libSlots, programs int) []byte {
	return libraryObjectIn(t, ".text", libSlots, programs)
}

// libraryObjectIn is libraryObject with the library in section libSection.
func libraryObjectIn(t *testing.T, libSection string, libSlots, programs int) []byte {
	lib := bytes.Repeat(insnMovR0, libSlots-1)
	lib = append(lib, insnExit...)
	var code, rels []byte
	syms := []rawSymbol{{Name: "lib", Section: libSection, Type: elf.STT_FUNC, Bind: elf.STB_GLOBAL, Size: uint64(len(lib))}}
	for i := range programs {
		rels = append(rels, rel(uint64(len(code)), 1, elf.R_BPF_64_32)...) // symbol 1 is lib
		syms = append(syms, rawSymbol{Name: fmt.Sprintf("p%d", i), Section: "socket", Type: elf.STT_FUNC, Bind: elf.STB_GLOBAL, Value: uint64(len(code)), Size: 16})
		code = append(code, insnCallRel...)
		code = append(code, insnExit...)
	}
	return buildELF(t, []rawSection{
		{Name: libSection, Type: elf.SHT_PROGBITS, Flags: execFlags, Data: lib},
		{Name: "socket", Type: elf.SHT_PROGBITS, Flags: execFlags, Data: code},
		{Name: ".relsocket", Type: elf.SHT_REL, Data: rels, Link: linkSymtab, Info: 2, Entsize: 16},
		{Name: "license", Type: elf.SHT_PROGBITS, Data: license},
	}, syms)
}

// TestProgramOverKernelLimit links a program whose subprogram takes it
// past the kernel's BPF_COMPLEXITY_LIMIT_INSNS: the program says so and
// nothing is copied. The 200 MB section of issue 8 took 2 GB before
// PROG_LOAD's E2BIG; here 8 MB must cost next to nothing.
func TestProgramOverKernelLimit(t *testing.T) {
	data := libraryObject(t, uapi.MaxInsns, 1)
	var (
		obj *reloc.Object
		err error
	)
	bytes, took := allocated(func() { obj, err = reloc.Link(data, nil) })
	t.Logf("Link: %d-byte object, %d bytes allocated in %v", len(data), bytes, took)
	if err != nil {
		t.Fatal(err)
	}
	p := obj.Program("p0")
	if p == nil || !errors.Is(p.Err, reloc.ErrLimit) || p.Insns != nil {
		t.Fatalf("program p0: %+v", p)
	}
	for _, want := range []string{`program "p0"`, "1000002 instructions", "limit of 1000000"} {
		if !strings.Contains(p.Err.Error(), want) {
			t.Errorf("%q does not mention %q", p.Err, want)
		}
	}
	if bytes > 1<<20 {
		t.Errorf("%d bytes allocated linking a %d-byte object", bytes, len(data))
	}

	spec, err := bpf.ParseSpec(data)
	if err != nil {
		t.Fatal(err)
	}
	if ps := spec.Program("p0"); ps == nil || !errors.Is(ps.Err, reloc.ErrLimit) || ps.Insns != 0 {
		t.Fatalf("spec of p0: %+v", ps)
	}

	// One slot fewer is the kernel's limit exactly, and links.
	obj, err = reloc.Link(libraryObject(t, uapi.MaxInsns-2, 1), nil)
	if err != nil || obj.Programs[0].Err != nil || obj.Programs[0].InsnCount() != uapi.MaxInsns {
		t.Fatalf("a program of exactly the limit: %v, %+v", err, obj.Programs[0].Err)
	}
}

// TestLinkedTotal is the other half: each program within the kernel's
// limit, but a thousand of them sharing a 1 MiB library would link into
// 1 GiB from a 1 MB file. The object is refused before any copy.
//
// With the library in a section of its own ("lib", no program type), it
// is a subprogram found by laying out every function first: that too is
// bounded.
func TestLinkedTotal(t *testing.T) {
	for _, section := range []string{".text", "lib"} {
		data := libraryObjectIn(t, section, 1<<17, 1000)
		most := openAll(t, data, reloc.ErrLimit, "instruction bytes, more than the")
		if most > 8<<20 {
			t.Errorf("library in %s: %d bytes allocated for a %d-byte object", section, most, len(data))
		}
	}

	// Forty copies (40 MiB) are within 64 MiB + 16 x the file.
	for _, section := range []string{".text", "lib"} {
		obj, err := reloc.Link(libraryObjectIn(t, section, 1<<17, 40), nil)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(obj.Programs); n != 40 || obj.Programs[39].InsnCount() != 1<<17+2 {
			t.Fatalf("library in %s: %d programs", section, n)
		}
	}
}

// TestOverlappingSections points a thousand relocation sections at the
// same bytes: without the overlap check, each would yield the same
// relocations again, and a 1 MB file a thousand times as many.
func TestOverlappingSections(t *testing.T) {
	var rels []byte
	for range 1 << 12 {
		rels = append(rels, rel(0, 1, elf.R_BPF_64_32)...)
	}
	sections := []rawSection{
		{Name: "socket", Type: elf.SHT_PROGBITS, Flags: execFlags, Data: append(bytes.Clone(insnCallRel), insnExit...)},
		{Name: ".relsocket", Type: elf.SHT_REL, Data: rels, Link: linkSymtab, Info: 1, Entsize: 16},
	}
	for range 1000 {
		sections = append(sections, rawSection{Name: ".relsocket", Type: elf.SHT_REL, SameAs: ".relsocket", Link: linkSymtab, Info: 1, Entsize: 16})
	}
	data := buildELF(t, sections, []rawSymbol{{Name: "p", Section: "socket", Type: elf.STT_FUNC, Bind: elf.STB_GLOBAL, Size: 16}})
	most := openAll(t, data, elf.ErrMalformed, "overlaps")
	if most > 2<<20 {
		t.Errorf("%d bytes allocated for a %d-byte object", most, len(data))
	}
}

// TestKconfigEmptyDatasec refers to a .kconfig variable of size 0, which
// leaves the datasec empty and creates no .kconfig map. The reference
// used to become a site of map 0: another map's value, or, with no other
// map, an index out of range and a panic.
func TestKconfigEmptyDatasec(t *testing.T) {
	data := kconfigEmptyDatasecObject(t)
	obj, err := reloc.Link(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := obj.Program("p")
	if p == nil || !errors.Is(p.Err, reloc.ErrMalformed) || len(p.Sites) != 0 {
		t.Fatalf("program p: %+v", p)
	}
	if !strings.Contains(p.Err.Error(), `kconfig "CONFIG_EMPTY"`) {
		t.Errorf("%v does not name the variable", p.Err)
	}
	if _, err := bpf.ParseSpec(data); err != nil {
		t.Fatal(err)
	}
}

// sharedLibraryWithLines is libraryObject with a .text of fns one-slot
// functions, each calling the next, and lines line_info records spread
// over them in .BTF.ext; each of programs calls the first function.
func sharedLibraryWithLines(t *testing.T, fns, lines, programs int) []byte {
	le := binary.LittleEndian
	// .BTF: one INT, and the strings the records and section name use.
	strs := []byte("\x00int\x00.text\x00f.c\x00x\x00")
	const strInt, strText, strFile, strLine = 1, 5, 11, 15
	types := le.AppendUint32(nil, strInt)
	types = le.AppendUint32(types, 1<<24) // BTF_KIND_INT
	types = le.AppendUint32(types, 4)
	types = le.AppendUint32(types, 32) // 32 bits, unsigned
	raw := le.AppendUint16(nil, 0xeb9f)
	raw = append(raw, 1, 0)
	raw = le.AppendUint32(raw, 24)
	raw = le.AppendUint32(raw, 0)
	raw = le.AppendUint32(raw, uint32(len(types)))
	raw = le.AppendUint32(raw, uint32(len(types)))
	raw = le.AppendUint32(raw, uint32(len(strs)))
	raw = append(append(raw, types...), strs...)

	// .BTF.ext: no func_info records, lines line_info records for .text.
	lineInfo := le.AppendUint32(nil, 16)
	lineInfo = le.AppendUint32(lineInfo, strText)
	lineInfo = le.AppendUint32(lineInfo, uint32(lines))
	for i := range lines {
		lineInfo = le.AppendUint32(lineInfo, uint32(i%fns)*8)
		lineInfo = le.AppendUint32(lineInfo, strFile)
		lineInfo = le.AppendUint32(lineInfo, strLine)
		lineInfo = le.AppendUint32(lineInfo, uint32(i)<<10|1)
	}
	ext := le.AppendUint16(nil, 0xeb9f)
	ext = append(ext, 1, 0)
	ext = le.AppendUint32(ext, 32) // with the CO-RE header
	ext = le.AppendUint32(ext, 0)  // func_info: only its record size
	ext = le.AppendUint32(ext, 4)
	ext = le.AppendUint32(ext, 4)
	ext = le.AppendUint32(ext, uint32(len(lineInfo)))
	ext = le.AppendUint32(ext, 4+uint32(len(lineInfo))) // no CO-RE records
	ext = le.AppendUint32(ext, 0)
	ext = le.AppendUint32(ext, 8)
	ext = append(ext, lineInfo...)

	var lib []byte
	var syms []rawSymbol
	for i := range fns {
		if i < fns-1 {
			lib = append(lib, insn(0x85, 0x10, 0, 0)...) // call the next one
		} else {
			lib = append(lib, insnExit...)
		}
		syms = append(syms, rawSymbol{Name: fmt.Sprintf("f%d", i), Section: ".text", Type: elf.STT_FUNC, Value: uint64(i) * 8, Size: 8})
	}
	var code, rels []byte
	for i := range programs {
		rels = append(rels, rel(uint64(len(code)), 1, elf.R_BPF_64_32)...) // symbol 1 is f0
		syms = append(syms, rawSymbol{Name: fmt.Sprintf("p%d", i), Section: "socket", Type: elf.STT_FUNC, Bind: elf.STB_GLOBAL, Value: uint64(len(code)), Size: 16})
		code = append(code, insnCallRel...)
		code = append(code, insnExit...)
	}
	return buildELF(t, []rawSection{
		{Name: ".text", Type: elf.SHT_PROGBITS, Flags: execFlags, Data: lib},
		{Name: "socket", Type: elf.SHT_PROGBITS, Flags: execFlags, Data: code},
		{Name: ".relsocket", Type: elf.SHT_REL, Data: rels, Link: linkSymtab, Info: 2, Entsize: 16},
		{Name: "license", Type: elf.SHT_PROGBITS, Data: license},
		{Name: ".BTF", Type: elf.SHT_PROGBITS, Data: raw},
		{Name: ".BTF.ext", Type: elf.SHT_PROGBITS, Data: ext},
	}, syms)
}

// TestExtInfoSharedLibrary links 500 programs that each reach the same
// 1,000 functions, whose section has 50,000 line_info records. Linking
// used to go over every record of the section for every function of
// every program: 2.5e10 steps for a 900 KB file, 45 s of CPU. Each
// function's records are now sorted out once, and a program costs one
// record per instruction, the one the per-section scan kept.
func TestExtInfoSharedLibrary(t *testing.T) {
	const fns, lines, programs = 1000, 50000, 500
	data := sharedLibraryWithLines(t, fns, lines, programs)
	var (
		obj *reloc.Object
		err error
	)
	bytes, took := allocated(func() { obj, err = reloc.Link(data, nil) })
	t.Logf("%d-byte object: %d bytes allocated in %v", len(data), bytes, took)
	if err != nil {
		t.Fatal(err)
	}
	if len(obj.Programs) != programs {
		t.Fatalf("%d programs", len(obj.Programs))
	}
	for _, p := range obj.Programs {
		// The program's own two instructions have no records; each
		// library function has exactly one of those at its offset
		// (record i is at function i%fns and says line i).
		if p.Err != nil || len(p.LineInfo) != fns*int(p.LineInfoRecSize) {
			t.Fatalf("%s: %v, %d bytes of line info", p.Name, p.Err, len(p.LineInfo))
		}
		for i := 0; i < fns; i += fns / 10 {
			rec := p.LineInfo[i*16:]
			if off, line := binary.NativeEndian.Uint32(rec), binary.NativeEndian.Uint32(rec[12:])>>10; off != uint32(2+i) || line%fns != uint32(i) {
				t.Fatalf("%s: line record %d at insn %d says line %d", p.Name, i, off, line)
			}
		}
	}
}

// TestDuplicateRelocations gives one instruction of a shared subprogram
// thousands of relocations, all to a map. Every program linking the
// subprogram used to get a map site per relocation: 1,000 programs made
// ten million sites from a 300 KB file. An instruction now takes one
// relocation, and the others make the function malformed.
func TestDuplicateRelocations(t *testing.T) {
	const dups, programs = 10000, 1000
	mapDef := make([]byte, 20) // struct bpf_map_def: ARRAY, 4, 4, 1
	binary.LittleEndian.PutUint32(mapDef, 2)
	binary.LittleEndian.PutUint32(mapDef[4:], 4)
	binary.LittleEndian.PutUint32(mapDef[8:], 4)
	binary.LittleEndian.PutUint32(mapDef[12:], 1)
	lib := append(insn(0x18, 1, 0, 0), insn(0, 0, 0, 0)...) // r1 = m ll
	lib = append(lib, insnExit...)
	var libRels []byte
	for range dups {
		libRels = append(libRels, rel(0, 2, elf.R_BPF_64_64)...) // symbol 2 is m
	}
	syms := []rawSymbol{
		{Name: "lib", Section: ".text", Type: elf.STT_FUNC, Size: uint64(len(lib))},
		{Name: "m", Section: "maps", Type: elf.STT_OBJECT, Bind: elf.STB_GLOBAL, Size: 20},
	}
	var code, rels []byte
	for i := range programs {
		rels = append(rels, rel(uint64(len(code)), 1, elf.R_BPF_64_32)...) // symbol 1 is lib
		syms = append(syms, rawSymbol{Name: fmt.Sprintf("p%d", i), Section: "socket", Type: elf.STT_FUNC, Bind: elf.STB_GLOBAL, Value: uint64(len(code)), Size: 16})
		code = append(code, insnCallRel...)
		code = append(code, insnExit...)
	}
	data := buildELF(t, []rawSection{
		{Name: ".text", Type: elf.SHT_PROGBITS, Flags: execFlags, Data: lib},
		{Name: ".rel.text", Type: elf.SHT_REL, Data: libRels, Link: linkSymtab, Info: 1, Entsize: 16},
		{Name: "socket", Type: elf.SHT_PROGBITS, Flags: execFlags, Data: code},
		{Name: ".relsocket", Type: elf.SHT_REL, Data: rels, Link: linkSymtab, Info: 3, Entsize: 16},
		{Name: "maps", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE, Data: mapDef},
		{Name: "license", Type: elf.SHT_PROGBITS, Data: license},
	}, syms)
	var (
		obj *reloc.Object
		err error
	)
	bytes, took := allocated(func() { obj, err = reloc.Link(data, nil) })
	t.Logf("%d-byte object: %d bytes allocated in %v", len(data), bytes, took)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range obj.Programs {
		if len(p.Sites) > 1 || !errors.Is(p.Err, reloc.ErrMalformed) || !strings.Contains(p.Err.Error(), "second relocation") {
			t.Fatalf("%s: %d sites, %v", p.Name, len(p.Sites), p.Err)
		}
	}
	if bytes > 8*uint64(len(data))+1<<20 {
		t.Errorf("%d bytes allocated for a %d-byte object", bytes, len(data))
	}
}

// TestRelocationPastFunctionEnd ends a function in the middle of an
// ld_imm64 that refers to a map. Copied into a program, the
// instruction's second slot is the next function's first: patching the
// map reference used to rewrite that function's instruction.
func TestRelocationPastFunctionEnd(t *testing.T) {
	mapDef := make([]byte, 20) // struct bpf_map_def: ARRAY, 4, 4, 1
	binary.LittleEndian.PutUint32(mapDef, 2)
	binary.LittleEndian.PutUint32(mapDef[4:], 4)
	binary.LittleEndian.PutUint32(mapDef[8:], 4)
	binary.LittleEndian.PutUint32(mapDef[12:], 1)
	// .text: half at 0 is the first slot of "r1 = m ll", whose second
	// slot is the first instruction of whole: opcode 0 (what the second
	// slot of an ld_imm64 holds) and the immediate 42.
	wholeInsns := append(insn(0, 0, 0, 42), insnExit...)
	text := append(insn(0x18, 1, 0, 0), wholeInsns...)
	code := append(bytes.Clone(insnCallRel), insnCallRel...)
	code = append(code, insnExit...)
	data := buildELF(t, []rawSection{
		{Name: ".text", Type: elf.SHT_PROGBITS, Flags: execFlags, Data: text},
		{Name: ".rel.text", Type: elf.SHT_REL, Data: rel(0, 3, elf.R_BPF_64_64), Link: linkSymtab, Info: 1, Entsize: 16},
		{Name: "socket", Type: elf.SHT_PROGBITS, Flags: execFlags, Data: code},
		{Name: ".relsocket", Type: elf.SHT_REL, Data: append(rel(0, 1, elf.R_BPF_64_32), rel(8, 2, elf.R_BPF_64_32)...), Link: linkSymtab, Info: 3, Entsize: 16},
		{Name: "maps", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE, Data: mapDef},
		{Name: "license", Type: elf.SHT_PROGBITS, Data: license},
	}, []rawSymbol{
		{Name: "half", Section: ".text", Type: elf.STT_FUNC, Size: 8},
		{Name: "whole", Section: ".text", Type: elf.STT_FUNC, Value: 8, Size: 16},
		{Name: "m", Section: "maps", Type: elf.STT_OBJECT, Bind: elf.STB_GLOBAL, Size: 20},
		{Name: "p", Section: "socket", Type: elf.STT_FUNC, Bind: elf.STB_GLOBAL, Size: uint64(len(code))},
	})
	obj, err := reloc.Link(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := obj.Program("p")
	if p == nil || !errors.Is(p.Err, reloc.ErrMalformed) || !strings.Contains(p.Err.Error(), "runs past the end") || len(p.Sites) != 0 {
		t.Fatalf("program p: %+v", p)
	}
	// Whatever else, "whole" is copied as it is.
	if !bytes.Contains(p.Insns, wholeInsns) {
		t.Fatalf("function whole was rewritten: % x", p.Insns)
	}
}

// kconfigEmptyDatasecObject is the object of TestKconfigEmptyDatasec, also
// committed as a seed of FuzzLink and FuzzParseSpec.
func kconfigEmptyDatasecObject(t *testing.T) []byte {
	char := &btf.Int{Name: "char", Size: 1, Encoding: btf.Signed | btf.Char}
	u32 := &btf.Int{Name: "unsigned int", Size: 4}
	empty := &btf.Var{Name: "CONFIG_EMPTY", Type: &btf.Array{Index: u32, Type: char}, Linkage: btf.ExternVar}
	b, err := btf.NewBuilder(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Add(&btf.Datasec{Name: ".kconfig", Vars: []btf.VarSecinfo{{Type: empty}}}); err != nil {
		t.Fatal(err)
	}
	raw, err := b.Marshal(nil, &btf.MarshalOptions{Order: binary.LittleEndian})
	if err != nil {
		t.Fatal(err)
	}
	code := append(insn(0x18, 1, 0, 0), insn(0, 0, 0, 0)...) // r1 = CONFIG_EMPTY ll
	code = append(code, insnExit...)
	return buildELF(t, []rawSection{
		{Name: "socket", Type: elf.SHT_PROGBITS, Flags: execFlags, Data: code},
		{Name: ".relsocket", Type: elf.SHT_REL, Data: rel(0, 2, elf.R_BPF_64_64), Link: linkSymtab, Info: 1, Entsize: 16},
		{Name: "license", Type: elf.SHT_PROGBITS, Data: license},
		{Name: ".BTF", Type: elf.SHT_PROGBITS, Data: raw},
	}, []rawSymbol{
		{Name: "p", Section: "socket", Type: elf.STT_FUNC, Bind: elf.STB_GLOBAL, Size: uint64(len(code))},
		{Name: "CONFIG_EMPTY", Bind: elf.STB_GLOBAL},
	})
}
