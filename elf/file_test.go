package elf

import (
	"bytes"
	delf "debug/elf"
	"encoding/binary"
	"testing"
	"unsafe"
)

// TestParseMatchesDebugELF parses every peer object and checks each section,
// symbol and relocation against the standard library's reader.
func TestParseMatchesDebugELF(t *testing.T) {
	orders := map[binary.ByteOrder]int{}
	for _, obj := range allObjects(t) {
		t.Run(obj.name, func(t *testing.T) {
			ef, err := delf.NewFile(bytes.NewReader(obj.data))
			if err != nil {
				t.Fatal(err)
			}
			f, err := Parse(obj.data)
			if err != nil {
				t.Fatal(err)
			}
			if f.ByteOrder != ef.ByteOrder {
				t.Fatalf("byte order %v, debug/elf says %v", f.ByteOrder, ef.ByteOrder)
			}
			orders[f.ByteOrder]++
			compareSections(t, obj.data, f, ef)
			compareSymbols(t, f, ef)
			compareRelocations(t, f, ef)
		})
	}
	if orders[binary.LittleEndian] == 0 || orders[binary.BigEndian] == 0 {
		t.Errorf("objects per byte order: %v, want both", orders)
	}
}

func compareSections(t *testing.T, data []byte, f *File, ef *delf.File) {
	t.Helper()
	if len(f.Sections) != len(ef.Sections) {
		t.Fatalf("%d sections, debug/elf has %d", len(f.Sections), len(ef.Sections))
	}
	for i, want := range ef.Sections {
		got := f.Sections[i]
		if got.Index != i || got.Name != want.Name || got.Type != uint32(want.Type) ||
			got.Flags != uint64(want.Flags) || got.Offset != want.Offset || got.Size != want.Size ||
			got.Link != want.Link || got.Info != want.Info || got.Addralign != want.Addralign ||
			got.Entsize != want.Entsize {
			t.Errorf("section %d: got %+v, debug/elf %+v", i, *got, want.SectionHeader)
		}
		if exec := want.Type == delf.SHT_PROGBITS && want.Flags&delf.SHF_EXECINSTR != 0; got.Executable() != exec {
			t.Errorf("%s: Executable() = %v", got, got.Executable())
		}
		if first := f.Section(want.Name); first == nil || first.Name != want.Name || first.Index > i {
			t.Errorf("Section(%q) = %v", want.Name, first)
		}

		switch want.Type {
		case delf.SHT_NULL, delf.SHT_NOBITS:
			if got.Data != nil {
				t.Errorf("%s: type %v has data", got, want.Type)
			}
			continue
		}
		wantData, err := want.Data()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Data, wantData) {
			t.Errorf("%s: data differs from debug/elf", got)
		}
		if len(got.Data) > 0 && unsafe.SliceData(got.Data) != &data[got.Offset] {
			t.Errorf("%s: data is a copy, not a view into the input", got)
		}
		if cap(got.Data) != len(got.Data) {
			t.Errorf("%s: cap %d exceeds len %d, appending would overwrite the input", got, cap(got.Data), len(got.Data))
		}
	}
	if f.Section("no such section") != nil {
		t.Error("Section of a missing name is not nil")
	}
}

func compareSymbols(t *testing.T, f *File, ef *delf.File) {
	t.Helper()
	want, err := ef.Symbols()
	if err == delf.ErrNoSymbols {
		if f.Symbols != nil {
			t.Fatalf("%d symbols, debug/elf has none", len(f.Symbols))
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	// debug/elf leaves out the null symbol.
	if len(f.Symbols) != len(want)+1 {
		t.Fatalf("%d symbols, debug/elf has %d plus the null symbol", len(f.Symbols), len(want))
	}
	if f.Symbols[0] != (Symbol{}) {
		t.Errorf("null symbol is %+v", f.Symbols[0])
	}
	for i, w := range want {
		got := f.Symbols[i+1]
		if got.Index != i+1 || got.Name != w.Name || got.Bind != uint8(delf.ST_BIND(w.Info)) ||
			got.Type != uint8(delf.ST_TYPE(w.Info)) || got.Other != w.Other ||
			got.Section != uint16(w.Section) || got.Value != w.Value || got.Size != w.Size {
			t.Errorf("symbol %d: got %+v, debug/elf %+v", i+1, got, w)
		}
	}
}

func compareRelocations(t *testing.T, f *File, ef *delf.File) {
	t.Helper()
	// A File built by hand has no relocation index; it must give the same
	// answers by scanning.
	scanned := &File{ByteOrder: f.ByteOrder, Sections: f.Sections, Symbols: f.Symbols}
	var total int
	for _, target := range f.Sections {
		var want []Relocation
		for _, rs := range ef.Sections {
			if rs.Type != delf.SHT_REL || int(rs.Info) != target.Index {
				continue
			}
			rels := make([]delf.Rel64, rs.Size/relSize)
			if err := binary.Read(rs.Open(), ef.ByteOrder, rels); err != nil {
				t.Fatal(err)
			}
			for _, r := range rels {
				want = append(want, Relocation{Offset: r.Off, Symbol: delf.R_SYM64(r.Info), Type: delf.R_TYPE64(r.Info)})
			}
		}

		for _, file := range []*File{f, scanned} {
			got, err := file.RelocationsFor(target)
			if err != nil {
				t.Fatalf("%s: %v", target, err)
			}
			if len(want) == 0 {
				if got != nil {
					t.Errorf("%s: %d relocations, want nil", target, len(got))
				}
				continue
			}
			if len(got) != len(want) {
				t.Fatalf("%s: %d relocations, debug/elf has %d", target, len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("%s: relocation %d: got %+v, debug/elf %+v", target, i, got[i], want[i])
				}
			}
		}
		total += len(want)
	}
	if total > 0 && f.Symbols == nil {
		t.Error("relocations without symbols")
	}
}

func TestRelocationsForForeignSection(t *testing.T) {
	obj := loaderObjects(t)[0]
	f, err := Parse(obj.data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.RelocationsFor(nil); err == nil {
		t.Error("nil section: no error")
	}
	text := *f.Section(".text")
	if _, err := f.RelocationsFor(&text); err == nil {
		t.Error("copy of a section: no error")
	}
	if _, err := f.RelocationsFor(&Section{Index: 1000}); err == nil {
		t.Error("out of range section: no error")
	}
}
