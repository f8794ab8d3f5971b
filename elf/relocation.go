package elf

import (
	"errors"
	"fmt"
)

// Relocation is one SHT_REL entry.
type Relocation struct {
	Offset uint64 // within the target section
	Symbol uint32 // index into File.Symbols
	Type   uint32 // R_BPF_*
}

// relocWidth is how many bytes of the target section each relocation type
// rewrites, counted from r_offset, so that an offset can be checked to leave
// room for the whole field rather than just its first byte.
func relocWidth(typ uint32) (width uint64, name string, ok bool) {
	switch typ {
	case R_BPF_NONE:
		return 0, "R_BPF_NONE", true
	case R_BPF_64_64:
		return 16, "R_BPF_64_64", true // both halves of an ldimm64
	case R_BPF_64_ABS64:
		return 8, "R_BPF_64_ABS64", true
	case R_BPF_64_ABS32:
		return 4, "R_BPF_64_ABS32", true
	case R_BPF_64_NODYLD32:
		return 4, "R_BPF_64_NODYLD32", true
	case R_BPF_64_32:
		return 8, "R_BPF_64_32", true // the call instruction whose imm it sets
	}
	return 0, "", false
}

// checkRelocSection validates the header of an SHT_REL or SHT_RELA section:
// it must apply to an existing section through the symbol table.
func checkRelocSection(s *Section, sections []*Section) error {
	entsize := uint64(relSize)
	if s.Type == SHT_RELA {
		entsize = relaSize
	}
	if s.Entsize != entsize {
		return malformed("%s: sh_entsize %d, want %d", s, s.Entsize, entsize)
	}
	if s.Size%entsize != 0 {
		return malformed("%s: size %#x is not a multiple of %d", s, s.Size, entsize)
	}
	if uint64(s.Link) >= uint64(len(sections)) || sections[s.Link].Type != SHT_SYMTAB {
		return malformed("%s: sh_link %d is not the symbol table", s, s.Link)
	}
	if s.Info == 0 || uint64(s.Info) >= uint64(len(sections)) {
		return malformed("%s: sh_info %d is not a section index (%d sections)", s, s.Info, len(sections))
	}
	switch target := sections[s.Info]; target.Type {
	case SHT_NULL, SHT_NOBITS:
		return malformed("%s: applies to %s of type %d, which has no data", s, target, target.Type)
	}
	return nil
}

// indexRelocSections maps each target section index to the relocation
// sections that apply to it, in section order, so RelocationsFor does not
// rescan the section table on every call.
func indexRelocSections(sections []*Section) ([][]*Section, error) {
	counts := make([]int, len(sections))
	n := 0
	for _, s := range sections {
		if s.Type != SHT_REL && s.Type != SHT_RELA {
			continue
		}
		if err := checkRelocSection(s, sections); err != nil {
			return nil, err
		}
		counts[s.Info]++
		n++
	}
	// One array for all, each target's part capped at its own end.
	backing := make([]*Section, 0, n)
	index := make([][]*Section, len(sections))
	for i, c := range counts {
		if c > 0 {
			index[i] = backing[len(backing) : len(backing) : len(backing)+c]
			backing = backing[:len(backing)+c]
		}
	}
	for _, s := range sections {
		if s.Type == SHT_REL || s.Type == SHT_RELA {
			index[s.Info] = append(index[s.Info], s)
		}
	}
	return index, nil
}

// RelocationsFor returns the relocations of every SHT_REL section that
// applies to target, in section order, or nil if there are none. Each
// relocation's symbol index is valid in f.Symbols and its field lies within
// target. An SHT_RELA section that applies to target is an error wrapping
// ErrUnsupported: BPF uses SHT_REL only.
func (f *File) RelocationsFor(target *Section) ([]Relocation, error) {
	if target == nil {
		return nil, errors.New("elf: RelocationsFor: nil section")
	}
	if target.Index < 0 || target.Index >= len(f.Sections) || f.Sections[target.Index] != target {
		return nil, fmt.Errorf("elf: RelocationsFor: %s is not a section of this file", target)
	}

	relSections, err := f.relocSectionsFor(target)
	if err != nil {
		return nil, err
	}

	var total int
	for _, rs := range relSections {
		if rs.Type == SHT_RELA {
			return nil, unsupported("%s: SHT_RELA relocations for %s (BPF uses SHT_REL)", rs, target)
		}
		if uint64(len(rs.Data)) != rs.Size {
			return nil, malformed("%s: has %d bytes of data, header says %#x", rs, len(rs.Data), rs.Size)
		}
		total += len(rs.Data) / relSize
	}
	if total == 0 {
		return nil, nil
	}

	relocs := make([]Relocation, 0, total)
	for _, rs := range relSections {
		for i := 0; i+relSize <= len(rs.Data); i += relSize {
			r, err := f.decodeRel(rs, i/relSize, target)
			if err != nil {
				return nil, err
			}
			relocs = append(relocs, r)
		}
	}
	return relocs, nil
}

// relocSectionsFor uses the index Parse built, or scans the sections of a
// File that was assembled by hand.
func (f *File) relocSectionsFor(target *Section) ([]*Section, error) {
	if f.relocSections != nil {
		return f.relocSections[target.Index], nil
	}
	var found []*Section
	for _, s := range f.Sections {
		if (s.Type != SHT_REL && s.Type != SHT_RELA) || int(s.Info) != target.Index {
			continue
		}
		if err := checkRelocSection(s, f.Sections); err != nil {
			return nil, err
		}
		found = append(found, s)
	}
	return found, nil
}

// decodeRel reads and checks entry i of the SHT_REL section rs.
func (f *File) decodeRel(rs *Section, i int, target *Section) (Relocation, error) {
	b := rs.Data[i*relSize:][:relSize]
	offset := f.ByteOrder.Uint64(b[0:])
	info := f.ByteOrder.Uint64(b[8:])
	r := Relocation{Offset: offset, Symbol: uint32(info >> 32), Type: uint32(info)}

	width, name, ok := relocWidth(r.Type)
	if !ok {
		return Relocation{}, unsupported("%s: relocation %d at offset %#x: type %d", rs, i, r.Offset, r.Type)
	}
	if uint64(r.Symbol) >= uint64(len(f.Symbols)) {
		return Relocation{}, malformed("%s: relocation %d at offset %#x: %s symbol index %d out of range (%d symbols)",
			rs, i, r.Offset, name, r.Symbol, len(f.Symbols))
	}
	// len(Data) equals Size in a parsed File; bounding by Data is what makes
	// target.Data[r.Offset:] safe in a File built by hand as well.
	if !fits(r.Offset, max(width, 1), uint64(len(target.Data))) {
		return Relocation{}, malformed("%s: relocation %d at offset %#x: %s (%d bytes) exceeds %s size %#x",
			rs, i, r.Offset, name, width, target, target.Size)
	}
	return r, nil
}
