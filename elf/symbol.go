package elf

import (
	"encoding/binary"
	"fmt"
)

// Symbol is one entry of the symbol table.
type Symbol struct {
	Index   int
	Name    string
	Bind    uint8  // STB_*
	Type    uint8  // STT_*
	Other   uint8  // st_other; visibility in the low 2 bits
	Section uint16 // st_shndx: an index into File.Sections, SHN_UNDEF, SHN_ABS or SHN_COMMON
	Value   uint64
	Size    uint64
}

// String names the symbol the way errors do.
func (sym Symbol) String() string {
	if sym.Name == "" {
		return fmt.Sprintf("symbol %d", sym.Index)
	}
	return fmt.Sprintf("symbol %d %q", sym.Index, sym.Name)
}

// findSymtab returns the SHT_SYMTAB section, or nil if there is none. The
// gABI allows only one, and relocations would be ambiguous with more.
func findSymtab(sections []*Section) (*Section, error) {
	var symtab *Section
	for _, s := range sections {
		if s.Type != SHT_SYMTAB {
			continue
		}
		if symtab != nil {
			return nil, unsupported("%s: second symbol table (first is %s)", s, symtab)
		}
		symtab = s
	}
	return symtab, nil
}

// parseSymbols decodes and validates every entry of symtab.
func parseSymbols(symtab *Section, sections []*Section, bo binary.ByteOrder) ([]Symbol, error) {
	if symtab.Entsize != symbolSize {
		return nil, malformed("%s: sh_entsize %d, want %d", symtab, symtab.Entsize, symbolSize)
	}
	if symtab.Size%symbolSize != 0 || symtab.Size == 0 {
		return nil, malformed("%s: size %#x is not a positive multiple of %d", symtab, symtab.Size, symbolSize)
	}
	strtab := sections[symtab.Link]
	if strtab.Type != SHT_STRTAB {
		return nil, malformed("%s: sh_link %d is %s of type %d, want SHT_STRTAB", symtab, symtab.Link, strtab, strtab.Type)
	}
	// len(Data) == Size, and Data lies within the input: the count and so
	// the allocation below are bounded by the input size.
	count := len(symtab.Data) / symbolSize
	// sh_info is one past the last local symbol.
	if uint64(symtab.Info) > uint64(count) {
		return nil, malformed("%s: sh_info %d exceeds symbol count %d", symtab, symtab.Info, count)
	}

	names := newStringTable(strtab)
	symbols := make([]Symbol, count)
	for i := range symbols {
		b := symtab.Data[i*symbolSize:][:symbolSize]
		sym := &symbols[i]
		info := b[4]
		*sym = Symbol{
			Index:   i,
			Bind:    info >> 4,
			Type:    info & 0xf,
			Other:   b[5],
			Section: bo.Uint16(b[6:]),
			Value:   bo.Uint64(b[8:]),
			Size:    bo.Uint64(b[16:]),
		}
		name, err := names.lookup(bo.Uint32(b[0:]))
		if err != nil {
			return nil, malformed("%s: %s: name: %v", symtab, sym, err)
		}
		sym.Name = name
		if err := sym.validate(symtab, sections); err != nil {
			return nil, err
		}
	}
	return symbols, nil
}

// validate checks st_shndx and, for symbols defined in a section, that the
// symbol lies within it, so the relocator can use Value as an offset into
// the section's data.
func (sym Symbol) validate(symtab *Section, sections []*Section) error {
	switch shndx := sym.Section; {
	case shndx == SHN_UNDEF, shndx == SHN_ABS, shndx == SHN_COMMON:
		return nil
	case shndx == shnXIndex:
		return unsupported("%s: %s: extended section index (SHN_XINDEX)", symtab, sym)
	case int(shndx) >= len(sections):
		return malformed("%s: %s: section index %#x out of range (%d sections)", symtab, sym, shndx, len(sections))
	}
	sec := sections[sym.Section]
	if !fits(sym.Value, sym.Size, sec.Size) {
		return malformed("%s: %s: value %#x size %#x exceeds %s size %#x", symtab, sym, sym.Value, sym.Size, sec, sec.Size)
	}
	return nil
}
