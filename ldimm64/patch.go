package ldimm64

import (
	"encoding/binary"
	"fmt"
)

// PatchMapFD turns the instruction at the start of b into a reference to
// the map with file descriptor fd.
func PatchMapFD(b []byte, bo binary.ByteOrder, fd int32) error {
	return patch(b, bo, "map fd", PseudoMapFD, uint32(fd), 0)
}

// PatchMapValue turns the instruction at the start of b into the address
// of byte off of the value of the (array) map with file descriptor fd.
func PatchMapValue(b []byte, bo binary.ByteOrder, fd int32, off uint32) error {
	return patch(b, bo, "map value", PseudoMapValue, uint32(fd), off)
}

// PatchFunc turns the instruction at the start of b into the address of the
// subprogram insnOff instructions (8-byte slots) after the instruction
// following this one.
func PatchFunc(b []byte, bo binary.ByteOrder, insnOff int32) error {
	return patch(b, bo, "func", PseudoFunc, uint32(insnOff), 0)
}

// PatchBTFID turns the instruction at the start of b into the address of
// the kernel variable with BTF id id, found in the BTF object btfObjFD
// (0 for vmlinux).
func PatchBTFID(b []byte, bo binary.ByteOrder, id uint32, btfObjFD int32) error {
	return patch(b, bo, "btf id", PseudoBTFID, id, uint32(btfObjFD))
}

// patch writes only the source register and both immediates. The
// destination register, the offset and everything outside the instruction
// belong to the compiler and to other relocations, so a patch must not
// normalise them.
func patch(b []byte, bo binary.ByteOrder, kind string, src uint8, lo, hi uint32) error {
	ins, err := Decode(b, bo)
	if err != nil {
		return fmt.Errorf("patch %s: %w", kind, err)
	}

	b[1] = joinRegs(ins.Dst, src, bo)
	bo.PutUint32(b[4:8], lo)
	bo.PutUint32(b[12:16], hi)
	return nil
}
