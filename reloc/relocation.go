package reloc

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/rawload/rawload/elf"
	"github.com/rawload/rawload/ldimm64"
)

type relocKind int

const (
	relocMapFD    relocKind = iota // ld_imm64 of a map
	relocMapValue                  // ld_imm64 of an address inside a global data map
	relocCall                      // bpf-to-bpf call (BPF_PSEUDO_CALL)
	relocFuncAddr                  // ld_imm64 of a callback's address (BPF_PSEUDO_FUNC)
	relocExtern                    // reference to a kernel symbol
	relocNone                      // nothing to do
)

// relocation is a reference from an instruction of a function to a map or
// another function, at a byte offset relative to the function's start.
type relocation struct {
	offset      uint64
	kind        relocKind
	mapIndex    int
	valueOffset uint32
	target      funcKey
	extern      *Extern
}

const (
	opLoadImm64 = 0x18 // BPF_LD | BPF_IMM | BPF_DW
	opCall      = 0x85 // BPF_JMP | BPF_CALL
	pseudoCall  = 1    // BPF_PSEUDO_CALL in the src register of a call
)

// resolveRelocations attaches each relocation of an executable section to
// the function it falls in, and finds the calls within a section that the
// compiler resolved itself and left without a relocation.
func (l *linker) resolveRelocations() error {
	for _, sec := range l.file.Sections {
		if !sec.Executable() {
			continue
		}
		fns := l.functionsOf(sec)
		rels, err := l.file.RelocationsFor(sec)
		if err != nil {
			return err
		}
		relocated := make(map[uint64]bool, len(rels))
		for _, rel := range rels {
			fn := containing(fns, rel.Offset)
			if fn == nil {
				// Bytes between functions (left by linkers) belong to
				// no program, so neither do their relocations.
				continue
			}
			if relocated[rel.Offset] {
				// An instruction takes one relocation. Keeping only
				// the first also bounds a function's relocations by
				// its instructions, which every program that links the
				// function pays for again.
				if fn.err == nil {
					fn.err = fmt.Errorf("section %s offset %#x: a second relocation of the same instruction: %w", sec.Name, rel.Offset, ErrMalformed)
				}
				continue
			}
			relocated[rel.Offset] = true
			r, err := l.classify(sec, rel)
			if err == nil && !fn.holds(rel.Offset) {
				err = fmt.Errorf("the instruction runs past the end of %s: %w", fn, ErrMalformed)
			}
			if err != nil {
				if fn.err == nil {
					fn.err = fmt.Errorf("section %s offset %#x: %w", sec.Name, rel.Offset, err)
				}
				continue
			}
			r.offset = rel.Offset - fn.key.insn*insnSize
			fn.relocs = append(fn.relocs, r)
		}
		for _, fn := range fns {
			l.findLocalCalls(fn, relocated)
		}
	}
	return nil
}

// classify decides what a relocation refers to from the instruction it
// patches and the section its symbol lives in.
func (l *linker) classify(sec *elf.Section, rel elf.Relocation) (relocation, error) {
	sym := l.file.Symbols[rel.Symbol]
	bo := l.file.ByteOrder
	insn := sec.Data[rel.Offset:]
	if len(insn) < insnSize || rel.Offset%insnSize != 0 {
		return relocation{}, fmt.Errorf("misaligned or truncated instruction: %w", ErrMalformed)
	}
	if sym.Section == elf.SHN_UNDEF {
		r, ok, err := l.classifyExtern(sym, insn)
		switch {
		case err != nil:
			return relocation{}, err
		case ok:
			return r, nil
		case insn[0] == opLoadImm64:
			// A symbol named in inline assembly ("r0 = SYM ll") that
			// no BTF declares: the instruction keeps the constant the
			// compiler wrote, as cilium/ebpf does.
			return relocation{kind: relocNone}, nil
		}
		return relocation{}, fmt.Errorf("call of undefined function %q: %w", sym.Name, ErrUnsupported)
	}
	if int(sym.Section) >= len(l.file.Sections) {
		return relocation{}, fmt.Errorf("symbol %q in section %d: %w", sym.Name, sym.Section, ErrMalformed)
	}
	target := l.file.Sections[sym.Section]
	switch insn[0] {
	case opLoadImm64:
		ld, err := ldimm64.Decode(insn, bo)
		if err != nil {
			return relocation{}, errors.Join(err, ErrMalformed)
		}
		addend := int64(int32(ld.Lo))
		if index, ok := l.mapAt[mapLocation{target.Index, uint64(int64(sym.Value) + addend)}]; ok {
			return relocation{kind: relocMapFD, mapIndex: index}, nil
		}
		if index, ok := l.dataMapOf[target.Index]; ok {
			off := int64(sym.Value) + addend
			if off < 0 || uint64(off) >= target.Size {
				return relocation{}, fmt.Errorf("reference to %s+%d is outside the section: %w", target.Name, off, ErrMalformed)
			}
			return relocation{kind: relocMapValue, mapIndex: index, valueOffset: uint32(off)}, nil
		}
		if target.Executable() {
			off := int64(sym.Value) + addend
			if off < 0 || off%insnSize != 0 {
				return relocation{}, fmt.Errorf("callback address %s+%d: %w", target.Name, off, ErrMalformed)
			}
			return relocation{kind: relocFuncAddr, target: funcKey{target.Index, uint64(off / insnSize)}}, nil
		}
		return relocation{}, fmt.Errorf("ld_imm64 of symbol %q in section %s, which holds neither maps, global data nor code: %w",
			sym.Name, target.Name, ErrUnsupported)
	case opCall:
		if srcReg(insn, bo) != pseudoCall {
			return relocation{}, fmt.Errorf("call of %q: kfunc calls: %w", sym.Name, ErrUnsupported)
		}
		if !target.Executable() {
			return relocation{}, fmt.Errorf("call to symbol %q in non-executable section %s: %w", sym.Name, target.Name, ErrMalformed)
		}
		imm := int64(int32(bo.Uint32(insn[4:])))
		idx := int64(sym.Value/insnSize) + imm + 1
		if idx < 0 {
			return relocation{}, fmt.Errorf("call to %s insn %d: %w", target.Name, idx, ErrMalformed)
		}
		return relocation{kind: relocCall, target: funcKey{target.Index, uint64(idx)}}, nil
	}
	return relocation{}, fmt.Errorf("relocation on opcode %#x against %q: %w", insn[0], sym.Name, ErrUnsupported)
}

// srcReg reads the source register of an instruction; the register
// nibbles swap places with the byte order.
func srcReg(insn []byte, bo binary.ByteOrder) uint8 {
	if bo == binary.BigEndian {
		return insn[1] & 0xf
	}
	return insn[1] >> 4
}

// findLocalCalls records the bpf-to-bpf calls the compiler resolved within a
// section: they carry a relative offset and no relocation.
func (l *linker) findLocalCalls(fn *function, relocated map[uint64]bool) {
	bo := l.file.ByteOrder
	base := fn.key.insn * insnSize
	for off := uint64(0); off+insnSize <= uint64(len(fn.insns)); off += insnSize {
		insn := fn.insns[off:]
		if insn[0] == opLoadImm64 {
			off += insnSize
			continue
		}
		if insn[0] != opCall || srcReg(insn, bo) != pseudoCall || relocated[base+off] {
			continue
		}
		imm := int64(int32(bo.Uint32(insn[4:])))
		idx := int64(fn.key.insn) + int64(off/insnSize) + imm + 1
		if idx < 0 {
			if fn.err == nil {
				fn.err = fmt.Errorf("%s: call at offset %#x jumps before the section: %w", fn, off, ErrMalformed)
			}
			continue
		}
		fn.relocs = append(fn.relocs, relocation{offset: off, kind: relocCall, target: funcKey{fn.key.section, uint64(idx)}})
	}
}
