package elf

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// header holds the fields of the ELF64 file header that the rest of the
// parse depends on; everything else in it is checked and dropped.
type header struct {
	order    binary.ByteOrder
	shoff    uint64
	shnum    uint16
	shstrndx uint16
}

const (
	elfClass32  = 1
	elfClass64  = 2
	elfData2LSB = 1
	elfData2MSB = 2
	evCurrent   = 1
	etRel       = 1
)

var elfMagic = []byte("\x7fELF")

// parseHeader validates the ELF64 file header and the placement of the
// section header table it points to.
func parseHeader(data []byte) (header, error) {
	if len(data) < len(elfMagic) || !bytes.Equal(data[:len(elfMagic)], elfMagic) {
		return header{}, fmt.Errorf("%w: missing ELF magic", ErrNotELF)
	}
	if len(data) < identSize {
		return header{}, malformed("file size %d is smaller than e_ident", len(data))
	}

	switch class := data[4]; class {
	case elfClass64:
	case elfClass32:
		return header{}, unsupported("ELFCLASS32 object, BPF objects are ELFCLASS64")
	default:
		return header{}, malformed("invalid class %d in e_ident", class)
	}

	var h header
	switch enc := data[5]; enc {
	case elfData2LSB:
		h.order = binary.LittleEndian
	case elfData2MSB:
		h.order = binary.BigEndian
	default:
		return header{}, malformed("invalid data encoding %d in e_ident", enc)
	}

	if v := data[6]; v != evCurrent {
		return header{}, unsupported("e_ident version %d is not EV_CURRENT", v)
	}
	if len(data) < headerSize {
		return header{}, malformed("file size %d is smaller than the ELF64 header (%d bytes)", len(data), headerSize)
	}

	bo := h.order
	if typ := bo.Uint16(data[16:]); typ != etRel {
		return header{}, unsupported("type %d (%s) is not ET_REL", typ, typeName(typ))
	}
	if m := bo.Uint16(data[18:]); m != EM_BPF {
		return header{}, unsupported("machine %d (%s) is not EM_BPF", m, machineName(m))
	}
	if v := bo.Uint32(data[20:]); v != evCurrent {
		return header{}, unsupported("e_version %d is not EV_CURRENT", v)
	}
	if size := bo.Uint16(data[52:]); size != headerSize {
		return header{}, malformed("e_ehsize %d, want %d", size, headerSize)
	}

	h.shoff = bo.Uint64(data[40:])
	shentsize := bo.Uint16(data[58:])
	h.shnum = bo.Uint16(data[60:])
	h.shstrndx = bo.Uint16(data[62:])

	// A file with more than SHN_LORESERVE sections stores the real count in
	// section 0 and e_shnum is 0; a BPF object never gets near that many.
	if h.shnum == 0 {
		if h.shoff != 0 {
			return header{}, unsupported("extended section numbering (e_shnum 0, e_shoff %#x)", h.shoff)
		}
		return header{}, malformed("no section header table")
	}
	if h.shnum >= shnLoReserve {
		return header{}, malformed("e_shnum %#x is in the reserved range", h.shnum)
	}
	if shentsize != sectionHeaderSize {
		return header{}, malformed("e_shentsize %d, want %d", shentsize, sectionHeaderSize)
	}
	if !fits(h.shoff, uint64(h.shnum)*sectionHeaderSize, uint64(len(data))) {
		return header{}, malformed("section header table at offset %#x (%d entries) exceeds file size %#x",
			h.shoff, h.shnum, len(data))
	}

	switch {
	case h.shstrndx == shnXIndex:
		return header{}, unsupported("extended section numbering (e_shstrndx SHN_XINDEX)")
	case h.shstrndx == SHN_UNDEF:
		return header{}, unsupported("no section name string table (e_shstrndx SHN_UNDEF)")
	case h.shstrndx >= h.shnum:
		return header{}, malformed("e_shstrndx %d out of range (%d sections)", h.shstrndx, h.shnum)
	}
	return h, nil
}

func typeName(t uint16) string {
	switch t {
	case 0:
		return "ET_NONE"
	case 1:
		return "ET_REL"
	case 2:
		return "ET_EXEC"
	case 3:
		return "ET_DYN"
	case 4:
		return "ET_CORE"
	}
	return "unknown"
}

// machineName names the machines an object is likely to be mistaken for, so
// the error says "x86-64" when someone passes a host object.
func machineName(m uint16) string {
	switch m {
	case 0:
		return "none"
	case 3:
		return "x86"
	case 8:
		return "MIPS"
	case 20:
		return "PowerPC"
	case 21:
		return "PowerPC64"
	case 22:
		return "s390"
	case 40:
		return "ARM"
	case 62:
		return "x86-64"
	case 183:
		return "AArch64"
	case 243:
		return "RISC-V"
	case 258:
		return "LoongArch"
	case EM_BPF:
		return "BPF"
	}
	return "unknown"
}
