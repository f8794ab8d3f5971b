package fuzz

import (
	"encoding/binary"
	"testing"

	"github.com/rawload/rawload/elf"
)

// rawSection is a section of a hand-built object. Data is written to the
// file unless Type is SHT_NOBITS, whose Size is then the stated size.
type rawSection struct {
	Name    string
	Type    uint32
	Flags   uint64
	Data    []byte
	Size    uint64 // SHT_NOBITS only
	Link    uint32
	Info    uint32
	Entsize uint64
	// SameAs, when set, points the header at the data of the section of
	// that name; the section then writes nothing of its own.
	SameAs string
}

// rawSymbol is a symbol of a hand-built object, defined in the section
// called Section ("" for SHN_UNDEF).
type rawSymbol struct {
	Name    string
	Section string
	Type    uint8
	Bind    uint8
	Value   uint64
	Size    uint64
}

// buildELF writes a little-endian ELF64 BPF relocatable object: the null
// section, sections, then .symtab and .strtab with symbols (the null
// symbol first). A section's Link naming .symtab may be given as
// linkSymtab, and Info as the index of a section from indexOf.
func buildELF(tb testing.TB, sections []rawSection, symbols []rawSymbol) []byte {
	tb.Helper()
	bo := binary.LittleEndian
	all := append([]rawSection{{}}, sections...)
	symtabIndex := len(all)
	strtabIndex := len(all) + 1

	var strtab []byte
	addString := func(s string) uint32 {
		if s == "" {
			return 0
		}
		off := uint32(len(strtab))
		strtab = append(strtab, s...)
		strtab = append(strtab, 0)
		return off
	}
	strtab = append(strtab, 0)
	index := map[string]int{}
	for i, s := range all {
		if i > 0 {
			if _, dup := index[s.Name]; !dup {
				index[s.Name] = i
			}
		}
	}
	symtab := make([]byte, 24) // the null symbol
	for _, sym := range symbols {
		e := make([]byte, 24)
		bo.PutUint32(e[0:], addString(sym.Name))
		e[4] = sym.Bind<<4 | sym.Type
		if sym.Section != "" {
			i, ok := index[sym.Section]
			if !ok {
				tb.Fatalf("symbol %s in unknown section %s", sym.Name, sym.Section)
			}
			bo.PutUint16(e[6:], uint16(i))
		}
		bo.PutUint64(e[8:], sym.Value)
		bo.PutUint64(e[16:], sym.Size)
		symtab = append(symtab, e...)
	}
	all = append(all,
		rawSection{Name: ".symtab", Type: elf.SHT_SYMTAB, Data: symtab, Link: uint32(strtabIndex), Info: 1, Entsize: 24},
		rawSection{Name: ".strtab", Type: elf.SHT_STRTAB})
	names := make([]uint32, len(all))
	for i, s := range all {
		names[i] = addString(s.Name)
	}
	all[strtabIndex].Data = strtab

	out := make([]byte, 64)
	offsets := make([]uint64, len(all))
	for i, s := range all {
		if i == 0 || s.Type == elf.SHT_NOBITS || s.SameAs != "" {
			continue
		}
		for len(out)%8 != 0 {
			out = append(out, 0)
		}
		offsets[i] = uint64(len(out))
		out = append(out, s.Data...)
	}
	for len(out)%8 != 0 {
		out = append(out, 0)
	}
	shoff := uint64(len(out))
	for i, s := range all {
		h := make([]byte, 64)
		if i > 0 {
			bo.PutUint32(h[0:], names[i])
			bo.PutUint32(h[4:], s.Type)
			bo.PutUint64(h[8:], s.Flags)
			off, size := offsets[i], uint64(len(s.Data))
			if s.Type == elf.SHT_NOBITS {
				size = s.Size
			}
			if s.SameAs != "" {
				j := index[s.SameAs]
				off, size = offsets[j], uint64(len(all[j].Data))
			}
			bo.PutUint64(h[24:], off)
			bo.PutUint64(h[32:], size)
			link := s.Link
			if link == linkSymtab {
				link = uint32(symtabIndex)
			}
			bo.PutUint32(h[40:], link)
			bo.PutUint32(h[44:], s.Info)
			bo.PutUint64(h[48:], 8)
			bo.PutUint64(h[56:], s.Entsize)
		}
		out = append(out, h...)
	}

	copy(out, "\x7fELF")
	out[4], out[5], out[6] = 2, 1, 1 // ELFCLASS64, little endian, EV_CURRENT
	bo.PutUint16(out[16:], 1)        // ET_REL
	bo.PutUint16(out[18:], elf.EM_BPF)
	bo.PutUint32(out[20:], 1)
	bo.PutUint64(out[40:], shoff)
	bo.PutUint16(out[52:], 64)
	bo.PutUint16(out[58:], 64)
	bo.PutUint16(out[60:], uint16(len(all)))
	bo.PutUint16(out[62:], uint16(strtabIndex))
	return out
}

// linkSymtab as a rawSection's Link stands for the index of .symtab.
const linkSymtab = ^uint32(0)

// insn encodes one BPF instruction, little endian.
func insn(op, regs uint8, off int16, imm int32) []byte {
	b := make([]byte, 8)
	b[0], b[1] = op, regs
	binary.LittleEndian.PutUint16(b[2:], uint16(off))
	binary.LittleEndian.PutUint32(b[4:], uint32(imm))
	return b
}

// rel encodes one SHT_REL entry.
func rel(offset uint64, symbol, typ uint32) []byte {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint64(b, offset)
	binary.LittleEndian.PutUint64(b[8:], uint64(symbol)<<32|uint64(typ))
	return b
}

var (
	insnExit    = insn(0x95, 0, 0, 0)     // exit
	insnMovR0   = insn(0xb7, 0, 0, 0)     // r0 = 0
	insnCallRel = insn(0x85, 0x10, 0, -1) // call, BPF_PSEUDO_CALL, target from a relocation
	license     = []byte("GPL\x00")
	execFlags   = uint64(elf.SHF_ALLOC | elf.SHF_EXECINSTR)
)
