package elf

import (
	"fmt"
	"testing"
)

// Offsets of fields within an Elf64_Sym.
const (
	stName  = 0
	stShndx = 6
	stValue = 8
)

func TestSymbolCorruption(t *testing.T) {
	// The corrupted symbol is the function defined in section "static".
	sym := func(field int, put func(*layout, []byte)) func(testing.TB, []byte, *layout) {
		return func(tb testing.TB, b []byte, l *layout) {
			put(l, l.symbol(tb, b, l.symbolIndex(tb, "static"))[field:])
		}
	}
	symMsg := func(format string, args ...any) func(testing.TB, *layout) string {
		return func(tb testing.TB, l *layout) string {
			_, sym := l.symbolIn(tb, "static")
			return l.label(tb, ".symtab") + ": " + sym + ": " + fmt.Sprintf(format, args...)
		}
	}

	runCorruptions(t, "", []corruption{
		{"entsize", setShdr64(".symtab", shEntsize, 16), ErrMalformed,
			about(".symtab", "sh_entsize 16, want 24")},
		{"size not a multiple", setShdr64(".symtab", shSize, 25), ErrMalformed,
			about(".symtab", "size 0x19 is not a positive multiple of 24")},
		{"empty", setShdr64(".symtab", shSize, 0), ErrMalformed,
			about(".symtab", "size 0x0 is not a positive multiple of 24")},
		{"link not strtab", func(tb testing.TB, b []byte, l *layout) {
			l.bo.PutUint32(l.shdr(tb, b, ".symtab")[shLink:], uint32(l.index(tb, ".text")))
		}, ErrMalformed, func(tb testing.TB, l *layout) string {
			return l.label(tb, ".symtab") + fmt.Sprintf(": sh_link %d is %s of type 1, want SHT_STRTAB",
				l.index(tb, ".text"), l.label(tb, ".text"))
		}},
		{"info beyond count", setShdr32(".symtab", shInfo, 10000), ErrMalformed,
			about(".symtab", "sh_info 10000 exceeds symbol count")},
		{"second symtab", setShdr32(".rel.text", shType, SHT_SYMTAB), ErrUnsupported,
			about(".symtab", "second symbol table")},
		{"name out of range", sym(stName, func(l *layout, b []byte) { l.bo.PutUint32(b, 0x7fffffff) }),
			ErrMalformed, func(tb testing.TB, l *layout) string {
				return l.label(tb, ".symtab") + fmt.Sprintf(": symbol %d: name: offset 0x7fffffff out of range of string table",
					l.symbolIndex(tb, "static"))
			}},
		{"shndx out of range", sym(stShndx, func(l *layout, b []byte) { l.bo.PutUint16(b, 0xfe00) }),
			ErrMalformed, symMsg(`section index 0xfe00 out of range`)},
		{"shndx reserved", sym(stShndx, func(l *layout, b []byte) { l.bo.PutUint16(b, 0xff10) }),
			ErrMalformed, symMsg(`section index 0xff10 out of range`)},
		{"shndx xindex", sym(stShndx, func(l *layout, b []byte) { l.bo.PutUint16(b, 0xffff) }),
			ErrUnsupported, symMsg(`extended section index`)},
		{"value beyond section", sym(stValue, func(l *layout, b []byte) { l.bo.PutUint64(b, 0x1000) }),
			ErrMalformed, func(tb testing.TB, l *layout) string {
				return symMsg("value 0x1000 size 0x18 exceeds %s size 0x18", l.label(tb, "static"))(tb, l)
			}},
	})
}

// TestSymbolsSpecialSections checks that the reserved indices a symbol may
// carry are accepted as they are.
func TestSymbolsSpecialSections(t *testing.T) {
	for _, shndx := range []uint16{SHN_UNDEF, SHN_ABS, SHN_COMMON} {
		for _, obj := range loaderObjects(t) {
			l := newLayout(t, obj.data)
			b := append([]byte(nil), obj.data...)
			i, label := l.symbolIn(t, "static")
			l.bo.PutUint16(l.symbol(t, b, i)[stShndx:], shndx)
			f, err := Parse(b)
			if err != nil {
				t.Fatalf("%s: st_shndx %#x: %v", obj.name, shndx, err)
			}
			if f.Symbols[i].Section != shndx || f.Symbols[i].String() != label {
				t.Errorf("%s: symbol %d is %+v", obj.name, i, f.Symbols[i])
			}
		}
	}
}
