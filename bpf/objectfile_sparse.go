package bpf

import (
	"bytes"
	"encoding/binary"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// sparseMergeGap is how far apart two parts to read may be and still be
// read as one: a page, which costs less than a system call more. Tests
// set it to 0 to see exactly what is read.
var sparseMergeGap uint64 = 4096

// sparseMin is the size from which an object file is read without its
// DWARF. Smaller ones are read whole, in one read(2).
const sparseMin = 128 << 10

// ELF64 layout that readSparse needs to find the sections.
const (
	elfHeaderSize  = 64
	elfSectionSize = 64
	elfClass64     = 2
	elfData2LSB    = 1
	elfData2MSB    = 2
	shtNoBits      = 8
	shtRel         = 9
	shtRela        = 4
	shfAlloc       = 0x2
	shfExecInstr   = 0x4
)

// readSparse fills data, a zeroed buffer of the file's size, with every
// part of the ELF object behind fd but its DWARF: the .debug_* sections
// and the relocations that apply to them, which no loader reads and
// which are most of a tool built with -g (690 KB of a bcc tool's 780).
// Their bytes stay zero in pages never touched, which cost no memory.
// ok is false when the headers are not those of an ELF64 object this
// reader understands; the caller then reads the file whole, and the ELF
// parser judges it.
func readSparse(fd int, data []byte) (ok bool, err error) {
	if len(data) < elfHeaderSize {
		return false, nil
	}
	if err := preadFull(fd, data[:elfHeaderSize], 0); err != nil {
		return false, err
	}
	h := data[:elfHeaderSize]
	if !bytes.HasPrefix(h, []byte("\x7fELF")) || h[4] != elfClass64 {
		return false, nil
	}
	var bo binary.ByteOrder
	switch h[5] {
	case elfData2LSB:
		bo = binary.LittleEndian
	case elfData2MSB:
		bo = binary.BigEndian
	default:
		return false, nil
	}
	shoff, shentsize := bo.Uint64(h[0x28:]), bo.Uint16(h[0x3a:])
	shnum, shstrndx := uint64(bo.Uint16(h[0x3c:])), uint64(bo.Uint16(h[0x3e:]))
	size := uint64(len(data))
	if shentsize != elfSectionSize || shnum == 0 || shstrndx >= shnum ||
		shoff > size || shnum*elfSectionSize > size-shoff {
		return false, nil
	}
	headers := data[shoff : shoff+shnum*elfSectionSize]
	if err := preadFull(fd, headers, int64(shoff)); err != nil {
		return false, err
	}
	type section struct {
		name         uint32
		typ, info    uint32
		flags        uint64
		offset, size uint64
	}
	sections := make([]section, shnum)
	for i := range sections {
		s := headers[i*elfSectionSize:]
		sections[i] = section{name: bo.Uint32(s), typ: bo.Uint32(s[4:]), info: bo.Uint32(s[44:]),
			flags: bo.Uint64(s[8:]), offset: bo.Uint64(s[24:]), size: bo.Uint64(s[32:])}
		if sections[i].typ != shtNoBits && (sections[i].offset > size || sections[i].size > size-sections[i].offset) {
			return false, nil
		}
	}
	names := sections[shstrndx]
	if names.typ == shtNoBits {
		return false, nil
	}
	strtab := data[names.offset : names.offset+names.size]
	if err := preadFull(fd, strtab, int64(names.offset)); err != nil {
		return false, err
	}
	// DWARF: named .debug_*, neither loaded nor executable. A section of
	// that name holding code is read like any other.
	isDebug := func(i uint64) bool {
		off := uint64(sections[i].name)
		if off >= uint64(len(strtab)) || sections[i].flags&(shfAlloc|shfExecInstr) != 0 {
			return false
		}
		return strings.HasPrefix(string(strtab[off:min(off+7, uint64(len(strtab)))]), ".debug_")
	}
	// The ranges to read, by offset, neighbours less than a page apart
	// read as one.
	type span struct{ from, to uint64 }
	var spans []span
	for i, s := range sections {
		if s.typ == shtNoBits || s.size == 0 || uint64(i) == shstrndx || isDebug(uint64(i)) {
			continue
		}
		if (s.typ == shtRel || s.typ == shtRela) && uint64(s.info) < shnum && isDebug(uint64(s.info)) {
			continue
		}
		spans = append(spans, span{s.offset, s.offset + s.size})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].from < spans[j].from })
	for i := 0; i < len(spans); {
		from, to := spans[i].from, spans[i].to
		for i++; i < len(spans) && spans[i].from <= to+sparseMergeGap; i++ {
			to = max(to, spans[i].to)
		}
		if err := preadFull(fd, data[from:to], int64(from)); err != nil {
			return false, err
		}
	}
	return true, nil
}

// preadFull reads len(b) bytes at off, or fails: a file that ends early
// changed while being read.
func preadFull(fd int, b []byte, off int64) error {
	for len(b) > 0 {
		n, err := unix.Pread(fd, b, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return errFileChanged
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}
