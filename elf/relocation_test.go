package elf

import (
	"fmt"
	"testing"
)

// Offsets of fields within an Elf64_Rel.
const (
	rOffset = 0
	rInfo   = 8
)

func setRel(field int, v func(l *layout, old uint64) uint64) func(testing.TB, []byte, *layout) {
	return func(tb testing.TB, b []byte, l *layout) {
		e := l.rel(tb, b, ".rel.text", 0)[field:]
		l.bo.PutUint64(e, v(l, l.bo.Uint64(e)))
	}
}

func relMsg(format string, args ...any) func(testing.TB, *layout) string {
	return func(tb testing.TB, l *layout) string {
		return l.label(tb, ".rel.text") + ": relocation 0 at offset " + fmt.Sprintf(format, args...)
	}
}

func TestRelocationSectionCorruption(t *testing.T) {
	runCorruptions(t, "", []corruption{
		{"entsize", setShdr64(".rel.text", shEntsize, 24), ErrMalformed,
			about(".rel.text", "sh_entsize 24, want 16")},
		{"size not a multiple", setShdr64(".rel.text", shSize, 0x28), ErrMalformed,
			about(".rel.text", "size 0x28 is not a multiple of 16")},
		{"link not symtab", setShdr32(".rel.text", shLink, 1), ErrMalformed,
			about(".rel.text", "sh_link 1 is not the symbol table")},
		{"link out of range", setShdr32(".rel.text", shLink, 0xffff), ErrMalformed,
			about(".rel.text", "sh_link 65535 out of range")},
		{"info zero", setShdr32(".rel.text", shInfo, 0), ErrMalformed,
			about(".rel.text", "sh_info 0 is not a section index")},
		{"info out of range", setShdr32(".rel.text", shInfo, 5000), ErrMalformed,
			about(".rel.text", "sh_info 5000 is not a section index")},
		{"applies to nobits", func(tb testing.TB, b []byte, l *layout) {
			setShdr32(".rel.text", shInfo, uint32(l.index(tb, ".bss")))(tb, b, l)
		}, ErrMalformed, func(tb testing.TB, l *layout) string {
			return about(".rel.text", "applies to %s of type 8, which has no data", l.label(tb, ".bss"))(tb, l)
		}},
	})
}

func TestRelocationCorruption(t *testing.T) {
	runCorruptions(t, ".text", []corruption{
		{"symbol out of range", setRel(rInfo, func(_ *layout, old uint64) uint64 {
			return 5000<<32 | old&0xffffffff
		}), ErrMalformed, func(tb testing.TB, l *layout) string {
			syms, _ := l.ef.Symbols()
			return relMsg("0x20: R_BPF_64_32 symbol index 5000 out of range (%d symbols)", len(syms)+1)(tb, l)
		}},
		{"offset beyond target", setRel(rOffset, func(*layout, uint64) uint64 { return 0x78 }), ErrMalformed,
			func(tb testing.TB, l *layout) string {
				return relMsg("0x78: R_BPF_64_32 (8 bytes) exceeds %s size 0x78", l.label(tb, ".text"))(tb, l)
			}},
		{"field crosses target end", setRel(rOffset, func(*layout, uint64) uint64 { return 0x74 }), ErrMalformed,
			relMsg("0x74: R_BPF_64_32 (8 bytes) exceeds")},
		{"offset overflows", setRel(rOffset, func(*layout, uint64) uint64 { return ^uint64(0) - 3 }), ErrMalformed,
			relMsg("0xfffffffffffffffc: R_BPF_64_32 (8 bytes) exceeds")},
		{"unknown type", setRel(rInfo, func(_ *layout, old uint64) uint64 { return old&^0xffffffff | 77 }),
			ErrUnsupported, relMsg("0x20: type 77")},
		{"rela", func(tb testing.TB, b []byte, l *layout) {
			size := l.ef.Sections[l.index(tb, ".rel.text")].Size
			setShdr32(".rel.text", shType, SHT_RELA)(tb, b, l)
			setShdr64(".rel.text", shEntsize, relaSize)(tb, b, l)
			setShdr64(".rel.text", shSize, size/relaSize*relaSize)(tb, b, l)
		}, ErrUnsupported, func(tb testing.TB, l *layout) string {
			return about(".rel.text", "SHT_RELA relocations for %s (BPF uses SHT_REL)", l.label(tb, ".text"))(tb, l)
		}},
	})
}

// TestRelocationTypes checks each R_BPF_* type against the width of the
// field it rewrites at the very end of the target.
func TestRelocationTypes(t *testing.T) {
	for _, tc := range []struct {
		typ   uint32
		width uint64
	}{
		{R_BPF_NONE, 1}, {R_BPF_64_64, 16}, {R_BPF_64_ABS64, 8},
		{R_BPF_64_ABS32, 4}, {R_BPF_64_NODYLD32, 4}, {R_BPF_64_32, 8},
	} {
		for _, obj := range loaderObjects(t) {
			l := newLayout(t, obj.data)
			for _, off := range []uint64{0x78 - tc.width, 0x78 - tc.width + 1} {
				b := append([]byte(nil), obj.data...)
				setRel(rOffset, func(*layout, uint64) uint64 { return off })(t, b, l)
				setRel(rInfo, func(_ *layout, old uint64) uint64 { return old&^0xffffffff | uint64(tc.typ) })(t, b, l)
				f, err := Parse(b)
				if err != nil {
					t.Fatal(err)
				}
				relocs, err := f.RelocationsFor(f.Section(".text"))
				fitsTarget := off+tc.width <= 0x78
				if fitsTarget != (err == nil) {
					t.Fatalf("%s: type %d at %#x: %v", obj.name, tc.typ, off, err)
				}
				if err == nil && (relocs[0].Type != tc.typ || relocs[0].Offset != off) {
					t.Errorf("%s: got %+v", obj.name, relocs[0])
				}
			}
		}
	}
}
