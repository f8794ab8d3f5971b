package elf

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
)

// Section is one entry of the section header table. Data aliases the input
// passed to Parse; callers that modify it modify the input.
type Section struct {
	Index     int
	Name      string
	Type      uint32
	Flags     uint64
	Offset    uint64
	Size      uint64
	Link      uint32
	Info      uint32
	Addralign uint64
	Entsize   uint64
	Data      []byte // nil for SHT_NULL and SHT_NOBITS
}

// Executable reports whether the section holds BPF instructions.
func (s *Section) Executable() bool {
	return s.Type == SHT_PROGBITS && s.Flags&SHF_EXECINSTR != 0
}

// String names the section the way errors do: index and name, since names
// need not be unique.
func (s *Section) String() string {
	if s.Name == "" {
		return fmt.Sprintf("section %d", s.Index)
	}
	return fmt.Sprintf("section %d %q", s.Index, s.Name)
}

// readSectionHeaders decodes the table that parseHeader has shown to fit in
// data, and returns each section's sh_name alongside, to be resolved once the
// name table has been checked. Nothing in the entries is trusted yet.
func readSectionHeaders(data []byte, h header) ([]*Section, []uint32) {
	sections := make([]*Section, h.shnum)
	nameOffs := make([]uint32, h.shnum)
	// One allocation for every header: an object has dozens of sections
	// and is opened again and again.
	backing := make([]Section, h.shnum)
	for i := range sections {
		b := data[h.shoff+uint64(i)*sectionHeaderSize:][:sectionHeaderSize]
		backing[i] = decodeSectionHeader(i, b, h.order)
		sections[i] = &backing[i]
		nameOffs[i] = h.order.Uint32(b[0:])
	}
	return sections, nameOffs
}

func decodeSectionHeader(i int, b []byte, bo binary.ByteOrder) Section {
	return Section{
		Index:     i,
		Type:      bo.Uint32(b[4:]),
		Flags:     bo.Uint64(b[8:]),
		Offset:    bo.Uint64(b[24:]),
		Size:      bo.Uint64(b[32:]),
		Link:      bo.Uint32(b[40:]),
		Info:      bo.Uint32(b[44:]),
		Addralign: bo.Uint64(b[48:]),
		Entsize:   bo.Uint64(b[56:]),
	}
}

// attachData points s.Data at the section's bytes in the input.
func (s *Section) attachData(data []byte) error {
	if s.Type == SHT_NULL || s.Type == SHT_NOBITS {
		return nil
	}
	if !fits(s.Offset, s.Size, uint64(len(data))) {
		return malformed("%s: data at offset %#x size %#x exceeds file size %#x", s, s.Offset, s.Size, len(data))
	}
	end := s.Offset + s.Size
	// A full slice expression, so that appending to Data can never write
	// over the next section.
	s.Data = data[s.Offset:end:end]
	return nil
}

// validate checks the fields every section type shares; the symbol table and
// relocation sections get their own checks where they are read.
func (s *Section) validate(numSections int) error {
	if s.Flags&shfCompressed != 0 {
		return unsupported("%s: compressed section", s)
	}
	if uint64(s.Link) >= uint64(numSections) {
		return malformed("%s: sh_link %d out of range (%d sections)", s, s.Link, numSections)
	}
	if bits.OnesCount64(s.Addralign) > 1 {
		return malformed("%s: sh_addralign %#x is not a power of two", s, s.Addralign)
	}
	return nil
}

// parseSections reads the section header table, names every section and
// attaches its data.
func parseSections(data []byte, h header) ([]*Section, error) {
	sections, nameOffs := readSectionHeaders(data, h)
	if sections[0].Type != SHT_NULL {
		return nil, malformed("section 0 has type %d, want SHT_NULL", sections[0].Type)
	}

	shstrtab := sections[h.shstrndx]
	if shstrtab.Type != SHT_STRTAB {
		return nil, malformed("%s (e_shstrndx) has type %d, want SHT_STRTAB", shstrtab, shstrtab.Type)
	}
	if err := shstrtab.attachData(data); err != nil {
		return nil, err
	}
	names := newStringTable(shstrtab)

	for i, s := range sections {
		name, err := names.lookup(nameOffs[i])
		if err != nil {
			return nil, malformed("%s: name: %v", s, err)
		}
		s.Name = name
	}

	for _, s := range sections {
		if err := s.validate(len(sections)); err != nil {
			return nil, err
		}
		if err := s.attachData(data); err != nil {
			return nil, err
		}
	}
	if err := checkOverlap(sections); err != nil {
		return nil, err
	}
	return sections, nil
}

// checkOverlap refuses sections whose data share bytes of the file. No
// compiler or linker writes such an object, and allowing it would let a
// file hold less than it says: a thousand headers of 64 bytes could each
// name the same megabyte of relocations or instructions, and everything a
// reader builds from section data would grow with the product. Without
// overlap, the section data of a file add up to at most its size.
func checkOverlap(sections []*Section) error {
	var withData []*Section
	for _, s := range sections {
		if len(s.Data) > 0 {
			withData = append(withData, s)
		}
	}
	slices.SortStableFunc(withData, func(a, b *Section) int { return cmp.Compare(a.Offset, b.Offset) })
	for i := 1; i < len(withData); i++ {
		prev, s := withData[i-1], withData[i]
		if s.Offset < prev.Offset+prev.Size {
			return malformed("%s: data at offset %#x size %#x overlaps %s at offset %#x size %#x",
				s, s.Offset, s.Size, prev, prev.Offset, prev.Size)
		}
	}
	return nil
}
