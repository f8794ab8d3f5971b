package reloc

import (
	"bytes"
	"encoding/binary"
	"math"
)

// BTF kinds the passthrough follows through typedefs and qualifiers.
const (
	btfKindPointer  = 2
	btfKindTypedef  = 8
	btfKindVolatile = 9
	btfKindConst    = 10
	btfKindRestrict = 11
	btfKindFloat    = 16
	btfKindTypeTag  = 18

	// maxRawResolve bounds the typedefs, qualifiers and arrays followed,
	// as cilium/ebpf's decoder does: BTF from an object may be a cycle.
	maxRawResolve = 32
)

// rawType is one type record of the passthrough BTF, read in place.
type rawType struct {
	kind, vlen uint32
	kflag      bool
	sizeType   uint32 // size or type id, by kind
	rec        []byte // the record: header, then what its kind adds
}

// typ reads the record of type id; ok is false for void and for an id the
// BTF does not have.
func (p *passBTF) typ(id uint32) (rawType, bool) {
	if id == 0 || uint64(id) >= uint64(len(p.typeOffs)) {
		return rawType{}, false
	}
	rec := p.blob[p.typeOffs[id]:]
	bo := binary.NativeEndian
	info := bo.Uint32(rec[4:])
	return rawType{kind: info >> 24 & 0x1f, vlen: info & 0xffff, kflag: info>>31 == 1, sizeType: bo.Uint32(rec[8:]), rec: rec}, true
}

// underlying follows typedefs and qualifiers, as btf.UnderlyingType.
func (p *passBTF) underlying(id uint32) (uint32, rawType, bool) {
	for range maxRawResolve + 1 {
		t, ok := p.typ(id)
		if !ok {
			return 0, rawType{}, false
		}
		switch t.kind {
		case btfKindTypedef, btfKindVolatile, btfKindConst, btfKindRestrict, btfKindTypeTag:
			id = t.sizeType
		default:
			return id, t, true
		}
	}
	return 0, rawType{}, false
}

// sizeof is the size of type id in bytes, as btf.Sizeof reckons it.
func (p *passBTF) sizeof(id uint32) (uint64, bool) {
	n := uint64(1)
	for range maxRawResolve {
		t, ok := p.typ(id)
		if !ok {
			return 0, false
		}
		var elem uint64
		switch t.kind {
		case btfKindArray:
			nelems := uint64(binary.NativeEndian.Uint32(t.rec[btfTypeLen+8:]))
			if n > 0 && nelems > math.MaxInt64/n {
				return 0, false
			}
			n *= nelems
			id = binary.NativeEndian.Uint32(t.rec[btfTypeLen:])
			continue
		case btfKindTypedef, btfKindVolatile, btfKindConst, btfKindRestrict, btfKindTypeTag:
			id = t.sizeType
			continue
		case btfKindPointer:
			elem = 8
		case btfKindInt, btfKindStruct, btfKindUnion, btfKindEnum, btfKindEnum64, btfKindDatasec, btfKindFloat:
			elem = uint64(t.sizeType)
		default:
			return 0, false
		}
		if n > 0 && elem > math.MaxInt64/n {
			return 0, false
		}
		return n * elem, true
	}
	return 0, false
}

// name is the string at off in the BTF's string section; ok is false
// past its end or without a terminating NUL.
func (p *passBTF) name(off uint32) (string, bool) {
	if uint64(off) >= uint64(len(p.strs)) {
		return "", false
	}
	s := p.strs[off:]
	i := bytes.IndexByte(s, 0)
	if i < 0 {
		return "", false
	}
	return string(s[:i]), true
}

// rawMember is a member of a struct or union: its name, type and offset
// in bits.
type rawMember struct {
	name    string
	typ     uint32
	bitsOff uint32
}

// members lists a struct's or union's members.
func (p *passBTF) members(t rawType) ([]rawMember, bool) {
	if t.kind != btfKindStruct && t.kind != btfKindUnion {
		return nil, false
	}
	bo := binary.NativeEndian
	ms := make([]rawMember, t.vlen)
	for i := range ms {
		rec := t.rec[btfTypeLen+12*i:]
		name, ok := p.name(bo.Uint32(rec))
		if !ok {
			return nil, false
		}
		off := bo.Uint32(rec[8:])
		if t.kflag {
			off &= 0xffffff
		}
		ms[i] = rawMember{name: name, typ: bo.Uint32(rec[4:]), bitsOff: off}
	}
	return ms, true
}

// datasecVars lists the variables of data section type id.
func (p *passBTF) datasecVars(id uint32) ([]rawVar, bool) {
	t, ok := p.typ(id)
	if !ok || t.kind != btfKindDatasec {
		return nil, false
	}
	bo := binary.NativeEndian
	vars := make([]rawVar, t.vlen)
	for i := range vars {
		vsi := t.rec[btfTypeLen+12*i:]
		v, ok := p.typ(bo.Uint32(vsi))
		if !ok || v.kind != btfKindVar {
			return nil, false
		}
		name, ok := p.name(bo.Uint32(v.rec))
		if !ok {
			return nil, false
		}
		vars[i] = rawVar{name: name, typ: v.sizeType, offset: bo.Uint32(vsi[4:]), size: bo.Uint32(vsi[8:])}
	}
	return vars, true
}

// rawVar is a variable of a data section: its name, type id, and where
// it lies in the section.
type rawVar struct {
	name         string
	typ          uint32
	offset, size uint32
}
