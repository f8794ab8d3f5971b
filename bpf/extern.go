package bpf

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cilium/ebpf/btf"

	"github.com/rawload/rawload/internal/kernel"
	"github.com/rawload/rawload/ldimm64"
	"github.com/rawload/rawload/reloc"
)

// Call fields the kernel reads for a kfunc call.
const (
	pseudoKfuncCall = 2 // BPF_PSEUDO_KFUNC_CALL, in the src register
	// poisonCall replaces the call of a weak kfunc the kernel lacks: a
	// helper that does not exist, so the verifier objects only if the
	// call is reachable, as libbpf does.
	poisonCall = btf.COREBadRelocationSentinel
)

// resolveExterns writes what the running kernel says about each kernel
// symbol the program refers to into its instructions, which become final
// with it, and returns the fd_array a module kfunc needs (nil if none).
func (o *Object) resolveExterns(ps *reloc.Program, insns []byte) ([]int32, error) {
	if len(ps.Externs) == 0 {
		return nil, nil
	}
	var fdArray []int32
	for _, ext := range ps.Externs {
		at := insns[ext.Offset:]
		var err error
		switch ext.Kind {
		case reloc.ExternKsymBTF, reloc.ExternKfuncAddr:
			kind := btf.Type((*btf.Var)(nil))
			if ext.Kind == reloc.ExternKfuncAddr {
				kind = (*btf.Func)(nil)
			}
			var kt kernel.Type
			kt, err = o.kernelTypeID(ext.Name, kind)
			switch {
			case err == nil:
				err = ldimm64.PatchBTFID(at, o.spec.ByteOrder, uint32(kt.ID), int32(kt.BTFFD))
			case ext.Weak && errors.Is(err, errKernelTypeNotFound):
				err = patchConstant(at, o.spec.ByteOrder, 0)
			}
		case reloc.ExternKsymAddr:
			var addr uint64
			var found bool
			addr, found, err = o.env.KallsymsAddress(ext.Name)
			switch {
			case err != nil:
			case found || ext.Weak:
				err = patchConstant(at, o.spec.ByteOrder, addr)
			default:
				err = fmt.Errorf("not in /proc/kallsyms")
			}
		case reloc.ExternKfuncCall:
			var kt kernel.Type
			kt, err = o.kernelTypeID(ext.Name, (*btf.Func)(nil))
			switch {
			case err == nil:
				var index int16
				if kt.BTFFD > 0 {
					if len(fdArray) == 0 {
						fdArray = append(fdArray, 0) // index 0 means vmlinux
					}
					index = int16(len(fdArray))
					fdArray = append(fdArray, int32(kt.BTFFD))
				}
				patchCall(at, o.spec.ByteOrder, pseudoKfuncCall, index, int32(kt.ID))
			case ext.Weak && errors.Is(err, errKernelTypeNotFound):
				err = nil
				patchCall(at, o.spec.ByteOrder, 0, 0, poisonCall)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s %q at offset %#x: %w", ext.Kind, ext.Name, ext.Offset, err)
		}
	}
	return fdArray, nil
}

// patchConstant makes an ld_imm64 load a plain 64-bit constant.
func patchConstant(insn []byte, bo binary.ByteOrder, value uint64) error {
	ld, err := ldimm64.Decode(insn, bo)
	if err != nil {
		return err
	}
	ld.Src, ld.Lo, ld.Hi = ldimm64.PseudoNone, uint32(value), uint32(value>>32)
	return ldimm64.Encode(insn, bo, ld)
}

// patchCall rewrites a call instruction's source register, offset and
// immediate. The register nibbles swap places with the byte order.
func patchCall(insn []byte, bo binary.ByteOrder, src uint8, off int16, imm int32) {
	if bo.Uint16([]byte{0, 1}) == 1 {
		insn[1] = insn[1]&0xf0 | src
	} else {
		insn[1] = insn[1]&0x0f | src<<4
	}
	bo.PutUint16(insn[2:], uint16(off))
	bo.PutUint32(insn[4:], uint32(imm))
}
