package elf

import (
	"fmt"
	"testing"
)

// Offsets of fields within an Elf64_Shdr.
const (
	shName      = 0
	shType      = 4
	shFlags     = 8
	shOffset    = 24
	shSize      = 32
	shLink      = 40
	shInfo      = 44
	shAddralign = 48
	shEntsize   = 56
)

func setShdr32(section string, field int, v uint32) func(testing.TB, []byte, *layout) {
	return func(tb testing.TB, b []byte, l *layout) { l.bo.PutUint32(l.shdr(tb, b, section)[field:], v) }
}

func setShdr64(section string, field int, v uint64) func(testing.TB, []byte, *layout) {
	return func(tb testing.TB, b []byte, l *layout) { l.bo.PutUint64(l.shdr(tb, b, section)[field:], v) }
}

// about expects the error to name the section and then say msg.
func about(section, format string, args ...any) func(testing.TB, *layout) string {
	return func(tb testing.TB, l *layout) string {
		return l.label(tb, section) + ": " + fmt.Sprintf(format, args...)
	}
}

func TestSectionCorruption(t *testing.T) {
	runCorruptions(t, "", []corruption{
		{"section 0 not null", func(_ testing.TB, b []byte, l *layout) {
			l.bo.PutUint32(b[l.shoff+shType:], SHT_PROGBITS)
		}, ErrMalformed, text("section 0 has type 1, want SHT_NULL")},
		{"name out of range", setShdr32(".text", shName, 0xffffff), ErrMalformed,
			func(tb testing.TB, l *layout) string {
				return fmt.Sprintf("section %d: name: offset 0xffffff out of range of string table", l.index(tb, ".text"))
			}},
		{"data beyond end", setShdr64(".text", shOffset, 1<<20), ErrMalformed,
			about(".text", "data at offset 0x100000 size 0x78 exceeds file size")},
		{"size overflows", setShdr64(".text", shSize, ^uint64(0)), ErrMalformed,
			about(".text", "data at offset 0x40 size 0xffffffffffffffff exceeds file size")},
		{"name table beyond end", setShdr64(".strtab", shOffset, 1<<40), ErrMalformed,
			func(tb testing.TB, l *layout) string {
				return fmt.Sprintf("section %d: data at offset 0x10000000000", l.index(tb, ".strtab"))
			}},
		{"link out of range", setShdr32(".text", shLink, 500), ErrMalformed,
			about(".text", "sh_link 500 out of range")},
		{"addralign", setShdr64(".text", shAddralign, 12), ErrMalformed,
			about(".text", "sh_addralign 0xc is not a power of two")},
		{"compressed", setShdr64(".BTF", shFlags, shfCompressed), ErrUnsupported,
			about(".BTF", "compressed section")},
		// Two headers naming the same bytes: a file must hold what its
		// sections say, or a reader's work grows with the product.
		{"overlapping sections", func(tb testing.TB, b []byte, l *layout) {
			text := l.ef.Sections[l.index(tb, ".text")]
			setShdr64(".BTF", shOffset, text.Offset)(tb, b, l)
			setShdr64(".BTF", shSize, text.Size)(tb, b, l)
		}, ErrMalformed, func(tb testing.TB, l *layout) string {
			return "overlaps " + l.label(tb, ".text")
		}},
	})
}

// TestNobitsKeepsSize checks that .bss has no data but its size, even when
// its offset points beyond the input, where NOBITS sections may point.
func TestNobitsKeepsSize(t *testing.T) {
	for _, obj := range loaderObjects(t) {
		l := newLayout(t, obj.data)
		b := append([]byte(nil), obj.data...)
		setShdr64(".bss", shOffset, 1<<40)(t, b, l)
		f, err := Parse(b)
		if err != nil {
			t.Fatalf("%s: %v", obj.name, err)
		}
		bss := f.Section(".bss")
		if bss.Type != SHT_NOBITS || bss.Data != nil || bss.Size != 4 || bss.Executable() {
			t.Errorf("%s: .bss is %+v", obj.name, *bss)
		}
	}
}
