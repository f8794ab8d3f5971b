package ldimm64

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Size is the length in bytes of a load-imm64 instruction: two raw slots.
const Size = 16

// OpCode is BPF_LD|BPF_IMM|BPF_DW.
const OpCode = 0x18

// Source-register values that tell the kernel how to interpret the
// immediate (UAPI BPF_PSEUDO_*).
const (
	PseudoNone        = 0 // plain 64-bit constant
	PseudoMapFD       = 1 // Lo is a map fd
	PseudoMapValue    = 2 // Lo is a map fd, Hi an offset into its value
	PseudoBTFID       = 3 // Lo is a BTF id, Hi the fd of the BTF object (0: vmlinux)
	PseudoFunc        = 4 // Lo is an instruction offset relative to the next instruction
	PseudoMapIdx      = 5 // Lo is an index into fd_array
	PseudoMapIdxValue = 6 // Lo is an index into fd_array, Hi an offset into the value
)

// ErrNotLoadImm64 is returned, wrapped with the reason, for bytes that do
// not hold a well-formed load-imm64 instruction.
var ErrNotLoadImm64 = errors.New("not a load-imm64 instruction")

// Insn is a decoded load-imm64 instruction.
type Insn struct {
	Dst, Src uint8  // register nibbles; Src selects a Pseudo* kind
	Off      int16  // offset field of the first slot
	Lo, Hi   uint32 // immediates of the first and second slot
}

// Imm returns the 64-bit immediate the instruction loads.
func (i Insn) Imm() uint64 {
	return uint64(i.Hi)<<32 | uint64(i.Lo)
}

// IsLoadImm64 reports whether b starts with the load-imm64 opcode. It looks
// at the opcode byte only, which reads the same in either byte order, so a
// scanner walking 8-byte slots can use it on a slot; Decode validates the
// rest.
func IsLoadImm64(b []byte) bool {
	return len(b) > 0 && b[0] == OpCode
}

// Decode decodes the load-imm64 instruction at the start of b, which is in
// the byte order bo. Bytes past Size are ignored.
//
// The second slot's opcode, registers and offset are reserved and must be
// zero: the kernel rejects anything else, and a nonzero value there most
// likely means b is not aligned on an instruction.
func Decode(b []byte, bo binary.ByteOrder) (Insn, error) {
	if bo == nil {
		return Insn{}, errors.New("decode load-imm64: nil byte order")
	}
	if len(b) < Size {
		return Insn{}, fmt.Errorf("%d bytes, need %d: %w", len(b), Size, ErrNotLoadImm64)
	}
	if b[0] != OpCode {
		return Insn{}, fmt.Errorf("opcode %#02x: %w", b[0], ErrNotLoadImm64)
	}
	if b[8] != 0 || b[9] != 0 || b[10] != 0 || b[11] != 0 {
		return Insn{}, fmt.Errorf("second slot has reserved bytes % x: %w", b[8:12], ErrNotLoadImm64)
	}

	dst, src := splitRegs(b[1], bo)
	return Insn{
		Dst: dst,
		Src: src,
		Off: int16(bo.Uint16(b[2:4])),
		Lo:  bo.Uint32(b[4:8]),
		Hi:  bo.Uint32(b[12:16]),
	}, nil
}

// Encode writes i as a load-imm64 instruction to the start of b in the byte
// order bo. It writes exactly Size bytes, zeroing the second slot's
// reserved fields.
func Encode(b []byte, bo binary.ByteOrder, i Insn) error {
	if bo == nil {
		return errors.New("encode load-imm64: nil byte order")
	}
	if len(b) < Size {
		return fmt.Errorf("%d bytes, need %d: %w", len(b), Size, ErrNotLoadImm64)
	}
	if i.Dst > 0xf || i.Src > 0xf {
		return fmt.Errorf("registers dst %d src %d do not fit a nibble: %w", i.Dst, i.Src, ErrNotLoadImm64)
	}

	b[0] = OpCode
	b[1] = joinRegs(i.Dst, i.Src, bo)
	bo.PutUint16(b[2:4], uint16(i.Off))
	bo.PutUint32(b[4:8], i.Lo)
	clear(b[8:12])
	bo.PutUint32(b[12:16], i.Hi)
	return nil
}

// The register byte is a C bitfield pair, so its nibble order follows the
// bitfield layout of the target: dst is the low nibble on little-endian
// objects and the high nibble on big-endian ones.
func splitRegs(regs byte, bo binary.ByteOrder) (dst, src uint8) {
	if isLittle(bo) {
		return regs & 0xf, regs >> 4
	}
	return regs >> 4, regs & 0xf
}

func joinRegs(dst, src uint8, bo binary.ByteOrder) byte {
	if isLittle(bo) {
		return src<<4 | dst&0xf
	}
	return dst<<4 | src&0xf
}

// isLittle probes bo rather than comparing it with binary.LittleEndian so
// that binary.NativeEndian and other implementations work too.
func isLittle(bo binary.ByteOrder) bool {
	switch bo {
	case binary.LittleEndian:
		return true
	case binary.BigEndian:
		return false
	}
	return bo.Uint16([]byte{1, 0}) == 1
}
