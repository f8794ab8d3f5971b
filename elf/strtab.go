package elf

import (
	"fmt"
	"slices"
	"strings"
)

// stringTable resolves offsets into an SHT_STRTAB section.
//
// A naive lookup scans for the terminating NUL each time, which lets a
// hostile object make parsing quadratic: many symbols whose names start at
// successive offsets of one long unterminated run. Instead the positions of
// all NULs are collected once and each lookup is a binary search. The table
// is also converted to a string once, so every name is a substring of it
// rather than its own copy.
type stringTable struct {
	sec  *Section
	s    string
	nuls []int
}

// shortName is how far lookup looks for a name's end before indexing.
const shortName = 256

func newStringTable(sec *Section) *stringTable {
	return &stringTable{sec: sec, s: string(sec.Data)}
}

// lookup returns the string at off. Its errors describe the problem without
// a sentinel; callers wrap them with ErrMalformed and say whose name it is.
func (t *stringTable) lookup(off uint32) (string, error) {
	if uint64(off) >= uint64(len(t.s)) {
		return "", fmt.Errorf("offset %#x out of range of string table (%s size %#x)", off, t.sec, len(t.s))
	}
	// Most names end within a few bytes: look there first, and index
	// every NUL only for a table whose strings run long, so that many
	// names into one long string cannot cost their product.
	if t.nuls == nil {
		rest := t.s[off:]
		if i := strings.IndexByte(rest[:min(len(rest), shortName)], 0); i >= 0 {
			return rest[:i], nil
		}
		t.nuls = make([]int, 0, 16)
		for i := 0; i < len(t.s); i++ {
			if t.s[i] == 0 {
				t.nuls = append(t.nuls, i)
			}
		}
	}
	i, _ := slices.BinarySearch(t.nuls, int(off))
	if i == len(t.nuls) {
		return "", fmt.Errorf("string at offset %#x of string table (%s) is not NUL-terminated", off, t.sec)
	}
	return t.s[off:t.nuls[i]], nil
}
