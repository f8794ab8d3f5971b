package elf

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"unsafe"
)

// FuzzParse seeds with the small objects of testdata/seeds (a few KB),
// which a fuzzer can mutate quickly. cilium/ebpf's objects, tens of KB,
// are added only when the seeds run as tests: fuzzing from them spends
// the time minimising.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("..", "testdata", "seeds", "*.o"))
	if len(seeds) == 0 {
		f.Fatal("no objects in testdata/seeds")
	}
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	if fuzz := flag.Lookup("test.fuzz"); fuzz == nil || fuzz.Value.String() == "" {
		for _, obj := range allObjects(f) {
			f.Add(obj.data)
		}
	}
	f.Add([]byte{})
	f.Add([]byte("\x7fELF"))
	f.Add([]byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00"))

	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		checkFile(t, data, file)
	})
}

// checkFile asserts what Parse promises about a File it returned: every
// index it exposes can be used without a bounds check, and every relocation
// RelocationsFor returns too.
func checkFile(t *testing.T, data []byte, f *File) {
	t.Helper()
	if len(f.Sections) == 0 || f.Sections[0].Type != SHT_NULL {
		t.Fatal("no null section 0")
	}
	for i, s := range f.Sections {
		if s.Index != i {
			t.Fatalf("section %d has Index %d", i, s.Index)
		}
		if s.Type == SHT_NULL || s.Type == SHT_NOBITS {
			if s.Data != nil {
				t.Fatalf("%s: type %d has data", s, s.Type)
			}
		} else {
			if uint64(len(s.Data)) != s.Size || !fits(s.Offset, s.Size, uint64(len(data))) {
				t.Fatalf("%s: %d bytes of data, header says offset %#x size %#x", s, len(s.Data), s.Offset, s.Size)
			}
			if len(s.Data) > 0 && unsafe.SliceData(s.Data) != &data[s.Offset] {
				t.Fatalf("%s: data is not a view of the input", s)
			}
		}
		if int(s.Link) >= len(f.Sections) {
			t.Fatalf("%s: link %d out of range", s, s.Link)
		}
	}

	for i, sym := range f.Symbols {
		if sym.Index != i {
			t.Fatalf("symbol %d has Index %d", i, sym.Index)
		}
		switch sym.Section {
		case SHN_UNDEF, SHN_ABS, SHN_COMMON:
			continue
		}
		if int(sym.Section) >= len(f.Sections) {
			t.Fatalf("%s: section %d out of range", sym, sym.Section)
		}
		if sec := f.Sections[sym.Section]; !fits(sym.Value, sym.Size, sec.Size) {
			t.Fatalf("%s: outside %s", sym, sec)
		}
	}

	for _, target := range f.Sections {
		relocs, err := f.RelocationsFor(target)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("%s: error wraps no sentinel: %v", target, err)
			}
			continue
		}
		for _, r := range relocs {
			if int(r.Symbol) >= len(f.Symbols) || r.Offset >= target.Size {
				t.Fatalf("%s: relocation %+v out of range", target, r)
			}
		}
	}
}
