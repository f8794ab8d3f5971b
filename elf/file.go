package elf

import (
	"encoding/binary"
)

// File is a parsed BPF object. Everything in it refers into the input given
// to Parse, which must not change while the File is in use.
type File struct {
	ByteOrder binary.ByteOrder
	Sections  []*Section // index == section header index; Sections[0] is the null section
	Symbols   []Symbol   // .symtab entries in order; Symbols[0] is the null symbol; nil if no symtab

	// relocSections maps a section index to the SHT_REL and SHT_RELA
	// sections that apply to it; nil for a File not made by Parse.
	relocSections [][]*Section
}

// Parse reads an ELF64 relocatable BPF object. All section, symbol and
// relocation-section headers are validated before it returns; relocation
// entries are validated by RelocationsFor.
func Parse(data []byte) (*File, error) {
	h, err := parseHeader(data)
	if err != nil {
		return nil, err
	}
	sections, err := parseSections(data, h)
	if err != nil {
		return nil, err
	}
	f := &File{ByteOrder: h.order, Sections: sections}

	symtab, err := findSymtab(sections)
	if err != nil {
		return nil, err
	}
	if symtab != nil {
		if f.Symbols, err = parseSymbols(symtab, sections, h.order); err != nil {
			return nil, err
		}
	}

	if f.relocSections, err = indexRelocSections(sections); err != nil {
		return nil, err
	}
	return f, nil
}

// Section returns the first section called name, or nil.
func (f *File) Section(name string) *Section {
	for _, s := range f.Sections {
		if s.Name == name {
			return s
		}
	}
	return nil
}
