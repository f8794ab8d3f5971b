package reloc

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// cilium/ebpf's BTF reader accepts only variables of type void in the
// .ksyms datasec, but typed ksyms (extern const struct rq runqueues
// __ksym) are what BPF_PSEUDO_BTF_ID loads are made of, and untyped ones
// are usually const void. untypeKsyms hands it a copy of the object whose
// ksym variables all point at void, and reports which were typed: the
// type itself is not needed, the kernel's variable of that name is what
// the instruction will carry.
func untypeKsyms(data []byte, btfSection []byte, btfOffset uint64, bo binary.ByteOrder) ([]byte, map[string]bool, error) {
	raw := rawBTF{data: btfSection, bo: bo}
	if err := raw.parse(); err != nil {
		return nil, nil, fmt.Errorf("section .BTF: %w", err)
	}
	ksyms, ok := raw.datasec(".ksyms")
	if !ok {
		return data, nil, nil
	}
	var patch []uint32 // offsets of VAR type fields within .BTF
	typed := make(map[string]bool)
	for _, id := range ksyms {
		v, ok := raw.at(id)
		if !ok || v.kind != btfKindVar {
			continue
		}
		target := bo.Uint32(raw.data[v.off+8:])
		if target == 0 {
			continue
		}
		patch = append(patch, v.off+8)
		if !raw.isVoid(target) {
			typed[raw.name(v.nameOff)] = true
		}
	}
	if len(patch) == 0 {
		return data, nil, nil
	}
	out := append([]byte(nil), data...)
	for _, off := range patch {
		bo.PutUint32(out[btfOffset+uint64(off):], 0)
	}
	return out, typed, nil
}

const (
	btfKindInt      = 1
	btfKindPtr      = 2
	btfKindArray    = 3
	btfKindStruct   = 4
	btfKindUnion    = 5
	btfKindEnum     = 6
	btfKindFwd      = 7
	btfKindTypedef  = 8
	btfKindVolatile = 9
	btfKindConst    = 10
	btfKindRestrict = 11
	btfKindFunc     = 12
	btfKindFuncProt = 13
	btfKindVar      = 14
	btfKindDatasec  = 15
	btfKindFloat    = 16
	btfKindDeclTag  = 17
	btfKindTypeTag  = 18
	btfKindEnum64   = 19
)

var errRawBTF = errors.New("malformed BTF")

// rawBTF walks the type section of a BTF blob just far enough to find
// datasecs and variables by id.
type rawBTF struct {
	data      []byte
	bo        binary.ByteOrder
	typeStart uint32
	strStart  uint32
	strLen    uint32
	types     []rawType // index: type id - 1
}

type rawType struct {
	off     uint32 // of the btf_type within data
	kind    uint8
	vlen    uint16
	nameOff uint32
}

func (r *rawBTF) parse() error {
	if len(r.data) < 24 || r.bo.Uint16(r.data) != 0xeb9f {
		return fmt.Errorf("bad header: %w", errRawBTF)
	}
	hdrLen := r.bo.Uint32(r.data[4:])
	typeOff, typeLen := r.bo.Uint32(r.data[8:]), r.bo.Uint32(r.data[12:])
	strOff, strLen := r.bo.Uint32(r.data[16:]), r.bo.Uint32(r.data[20:])
	end := uint64(len(r.data))
	if uint64(hdrLen)+uint64(typeOff)+uint64(typeLen) > end || uint64(hdrLen)+uint64(strOff)+uint64(strLen) > end {
		return fmt.Errorf("sections outside the blob: %w", errRawBTF)
	}
	r.typeStart, r.strStart, r.strLen = hdrLen+typeOff, hdrLen+strOff, strLen
	for off := r.typeStart; off < r.typeStart+typeLen; {
		if uint64(off)+12 > end {
			return fmt.Errorf("type at %d truncated: %w", off, errRawBTF)
		}
		info := r.bo.Uint32(r.data[off+4:])
		t := rawType{off: off, kind: uint8(info >> 24 & 0x1f), vlen: uint16(info), nameOff: r.bo.Uint32(r.data[off:])}
		extra, err := t.trailer()
		if err != nil {
			return err
		}
		r.types = append(r.types, t)
		off += 12 + extra
	}
	return nil
}

// trailer is the size of the kind-specific data after a btf_type.
func (t rawType) trailer() (uint32, error) {
	n := uint32(t.vlen)
	switch t.kind {
	case btfKindInt, btfKindVar, btfKindDeclTag:
		return 4, nil
	case btfKindPtr, btfKindFwd, btfKindTypedef, btfKindVolatile, btfKindConst, btfKindRestrict,
		btfKindFunc, btfKindFloat, btfKindTypeTag:
		return 0, nil
	case btfKindArray:
		return 12, nil
	case btfKindStruct, btfKindUnion, btfKindDatasec, btfKindEnum64:
		return 12 * n, nil
	case btfKindEnum, btfKindFuncProt:
		return 8 * n, nil
	}
	return 0, fmt.Errorf("unknown kind %d at %d: %w", t.kind, t.off, errRawBTF)
}

// isVoid reports whether a type is void once const, volatile, restrict,
// typedef and type tags are looked through.
func (r *rawBTF) isVoid(id uint32) bool {
	for range len(r.types) + 1 {
		if id == 0 {
			return true
		}
		t, ok := r.at(id)
		if !ok {
			return false
		}
		switch t.kind {
		case btfKindConst, btfKindVolatile, btfKindRestrict, btfKindTypedef, btfKindTypeTag:
			id = r.bo.Uint32(r.data[t.off+8:])
		default:
			return false
		}
	}
	return false
}

func (r *rawBTF) at(id uint32) (rawType, bool) {
	if id == 0 || int(id) > len(r.types) {
		return rawType{}, false
	}
	return r.types[id-1], true
}

func (r *rawBTF) name(off uint32) string {
	if off >= r.strLen {
		return ""
	}
	s := r.data[r.strStart+off : r.strStart+r.strLen]
	for i, c := range s {
		if c == 0 {
			return string(s[:i])
		}
	}
	return string(s)
}

// datasec returns the type ids of the variables of the named datasec.
func (r *rawBTF) datasec(name string) ([]uint32, bool) {
	for _, t := range r.types {
		if t.kind != btfKindDatasec || r.name(t.nameOff) != name {
			continue
		}
		var ids []uint32
		for i := uint32(0); i < uint32(t.vlen); i++ {
			ids = append(ids, r.bo.Uint32(r.data[t.off+12+12*i:]))
		}
		return ids, true
	}
	return nil, false
}
