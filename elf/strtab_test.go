package elf

import (
	"errors"
	"strings"
	"testing"
)

func TestStringTable(t *testing.T) {
	tab := newStringTable(&Section{Index: 3, Name: ".strtab", Data: []byte("\x00foo\x00bar")})
	for _, tc := range []struct {
		off  uint32
		want string
		err  string
	}{
		{0, "", ""},
		{1, "foo", ""},
		{3, "o", ""},
		{4, "", ""},
		{5, "", `string at offset 0x5 of string table (section 3 ".strtab") is not NUL-terminated`},
		{7, "", "not NUL-terminated"},
		{8, "", `offset 0x8 out of range of string table (section 3 ".strtab" size 0x8)`},
		{0xffffffff, "", "out of range"},
	} {
		got, err := tab.lookup(tc.off)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("lookup(%#x): error %v, want %q", tc.off, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("lookup(%#x) = %q, %v, want %q", tc.off, got, err, tc.want)
		}
	}

	empty := newStringTable(&Section{Index: 1})
	if _, err := empty.lookup(0); err == nil {
		t.Errorf("lookup in empty table: %v", err)
	}
}

// TestStringTableUnterminatedName cuts the symbol string table in the middle
// of a name, so the last name loses its NUL.
func TestStringTableUnterminatedName(t *testing.T) {
	for _, obj := range loaderObjects(t) {
		l := newLayout(t, obj.data)
		b := append([]byte(nil), obj.data...)
		strtab := l.ef.Sections[l.index(t, ".strtab")]
		// Give the last byte a value, as if the table had been cut short.
		b[strtab.Offset+strtab.Size-1] = 'x'
		_, err := Parse(b)
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "is not NUL-terminated") {
			t.Errorf("%s: %v", obj.name, err)
		}
	}
}
