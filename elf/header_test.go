package elf

import (
	"errors"
	"strconv"
	"testing"
)

func TestHeaderCorruption(t *testing.T) {
	put16 := func(off int, v uint16) func(testing.TB, []byte, *layout) {
		return func(_ testing.TB, b []byte, l *layout) { l.bo.PutUint16(b[off:], v) }
	}
	put32 := func(off int, v uint32) func(testing.TB, []byte, *layout) {
		return func(_ testing.TB, b []byte, l *layout) { l.bo.PutUint32(b[off:], v) }
	}
	put64 := func(off int, v uint64) func(testing.TB, []byte, *layout) {
		return func(_ testing.TB, b []byte, l *layout) { l.bo.PutUint64(b[off:], v) }
	}
	putByte := func(off int, v byte) func(testing.TB, []byte, *layout) {
		return func(_ testing.TB, b []byte, _ *layout) { b[off] = v }
	}

	runCorruptions(t, "", []corruption{
		{"magic", putByte(1, 'X'), ErrNotELF, text("missing ELF magic")},
		{"class32", putByte(4, 1), ErrUnsupported, text("ELFCLASS32")},
		{"class invalid", putByte(4, 9), ErrMalformed, text("invalid class 9")},
		{"data encoding", putByte(5, 0), ErrMalformed, text("invalid data encoding 0")},
		{"ident version", putByte(6, 0), ErrUnsupported, text("e_ident version 0")},
		{"type exec", put16(16, 2), ErrUnsupported, text("type 2 (ET_EXEC) is not ET_REL")},
		{"machine x86-64", put16(18, 62), ErrUnsupported, text("machine 62 (x86-64) is not EM_BPF")},
		{"machine unknown", put16(18, 4242), ErrUnsupported, text("machine 4242 (unknown) is not EM_BPF")},
		{"version", put32(20, 2), ErrUnsupported, text("e_version 2")},
		{"ehsize", put16(52, 52), ErrMalformed, text("e_ehsize 52")},
		{"shoff beyond end", put64(40, 1<<20), ErrMalformed, text("section header table at offset 0x100000")},
		{"shoff overflows", put64(40, ^uint64(0)-10), ErrMalformed, text("section header table")},
		{"shnum huge", put16(60, 0xfe00), ErrMalformed, text("(65024 entries) exceeds file size")},
		{"shnum reserved", put16(60, 0xff00), ErrMalformed, text("reserved range")},
		{"shnum extended", put16(60, 0), ErrUnsupported, text("extended section numbering (e_shnum 0")},
		{"no section table", func(_ testing.TB, b []byte, l *layout) {
			l.bo.PutUint16(b[60:], 0)
			l.bo.PutUint64(b[40:], 0)
		}, ErrMalformed, text("no section header table")},
		{"shentsize", put16(58, 40), ErrMalformed, text("e_shentsize 40")},
		{"shstrndx extended", put16(62, 0xffff), ErrUnsupported, text("SHN_XINDEX")},
		{"shstrndx undef", put16(62, 0), ErrUnsupported, text("no section name string table")},
		{"shstrndx out of range", func(_ testing.TB, b []byte, l *layout) {
			l.bo.PutUint16(b[62:], uint16(len(l.ef.Sections)))
		}, ErrMalformed, text("e_shstrndx")},
		{"shstrndx not strtab", func(tb testing.TB, b []byte, l *layout) {
			l.bo.PutUint16(b[62:], uint16(l.index(tb, ".text")))
		}, ErrMalformed, func(tb testing.TB, l *layout) string {
			return "section " + strconv.Itoa(l.index(tb, ".text")) + " (e_shstrndx) has type 1, want SHT_STRTAB"
		}},
	})
}

func TestParseShortInputs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want error
	}{
		{"", ErrNotELF},
		{"\x7fEL", ErrNotELF},
		{"\x7fELG", ErrNotELF},
		{"\x7fELF", ErrMalformed},
		{"\x7fELF\x02\x01\x01", ErrMalformed},
		{"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00", ErrMalformed},
		{"\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00", ErrUnsupported},
	} {
		_, err := Parse([]byte(tc.in))
		if !errors.Is(err, tc.want) {
			t.Errorf("Parse(%q): %v, want %v", tc.in, err, tc.want)
		}
	}
}
