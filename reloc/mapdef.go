package reloc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/cilium/ebpf/btf"

	"github.com/rawload/rawload/elf"
	"github.com/rawload/rawload/internal/uapi"
)

// collectBTFMaps reads the map definitions of the .maps section. An
// object whose BTF passes through has them read from that BTF as it is,
// without decoding a type; whatever that reading does not take is read
// again from the decoded types, which also word the errors.
func (l *linker) collectBTFMaps(sec *elf.Section) error {
	if l.spec == nil && l.pass == nil {
		return fmt.Errorf("section .maps: %w", errNoBTF)
	}
	defs, ok := l.rawBTFMaps()
	if !ok {
		var err error
		if defs, err = l.typedBTFMaps(); err != nil {
			return err
		}
	}
	for _, d := range defs {
		l.addMap(d.spec, mapLocation{sec.Index, d.offset})
		l.mapDefs = append(l.mapDefs, mapDef{index: len(l.obj.Maps) - 1, offset: d.offset, size: d.size})
	}
	return l.collectMapValues(sec)
}

// btfMapVar is a map definition read from a .maps variable.
type btfMapVar struct {
	spec         *MapSpec
	offset, size uint64
}

func (l *linker) typedBTFMaps() ([]btfMapVar, error) {
	ds, _, err := l.datasec(".maps", false)
	if err != nil {
		return nil, fmt.Errorf("section .maps: finding its BTF datasec: %w", err)
	}
	var defs []btfMapVar
	for _, vsi := range ds.Vars {
		v, ok := vsi.Type.(*btf.Var)
		if !ok {
			return nil, fmt.Errorf("section .maps: offset %#x: %s is not a variable: %w", vsi.Offset, vsi.Type, ErrMalformed)
		}
		m, err := btfMapSpec(v.Name, v.Type)
		if err != nil {
			return nil, fmt.Errorf("section .maps: map %q: %w", v.Name, err)
		}
		defs = append(defs, btfMapVar{m, uint64(vsi.Offset), uint64(vsi.Size)})
	}
	return defs, nil
}

// rawBTFMaps reads the map definitions from the passthrough BTF; ok is
// false when there is none, or when any definition is not one it reads
// whole.
func (l *linker) rawBTFMaps() (defs []btfMapVar, ok bool) {
	p := l.pass
	if p == nil {
		return nil, false
	}
	id := p.datasecs[".maps"]
	vars, ok := p.datasecVars(id)
	if !ok {
		return nil, false
	}
	for _, v := range vars {
		fields, ok := p.rawMapFields(v.typ)
		if !ok {
			return nil, false
		}
		m, err := btfMapDef(v.name, fields, false)
		if err != nil {
			return nil, false
		}
		defs = append(defs, btfMapVar{m, uint64(v.offset), uint64(v.size)})
	}
	return defs, true
}

// btfMapSpec decodes a map definition written with libbpf's __uint, __type
// and __array macros: integers are encoded as the element count of an
// array a member points to, types as the target of a pointer member.
func btfMapSpec(name string, typ btf.Type) (*MapSpec, error) {
	fields, err := typedMapFields(typ)
	if err != nil {
		return nil, err
	}
	return btfMapDef(name, fields, false)
}

// mapField is one member of a BTF map definition, read from decoded
// types (typedField) or from the passthrough BTF as it is (rawField).
type mapField interface {
	fieldName() string
	// number is the value of an __uint or __ulong member.
	number() (uint64, error)
	// typeOf is the type an __type member names, and its size.
	typeOf() (typeRef, uint64, error)
	// values reads an __array(values, ...) member: where it starts in the
	// definition, and the inner map's definition if the array's pointers
	// are to one (maps of maps), nil for a program array's prototypes.
	values() (offset uint64, inner []mapField, err error)
}

// btfMapDef builds a map definition from its members, for an outer map
// or for the inner map template of a map of maps. The kernel has only
// one level of maps in maps, and a BTF type may refer to itself: an
// inner definition with values of its own is refused, which also ends
// the recursion.
func btfMapDef(name string, fields []mapField, inner bool) (*MapSpec, error) {
	m := &MapSpec{Name: name, Section: ".maps", Source: MapBTF}
	for _, f := range fields {
		var err error
		switch f.fieldName() {
		case "type":
			m.Type, err = mapFieldUint32(f)
		case "map_flags":
			m.Flags, err = mapFieldUint32(f)
		case "max_entries":
			m.MaxEntries, err = mapFieldUint32(f)
		case "key_size":
			m.KeySize, err = mapFieldUint32(f)
		case "value_size":
			m.ValueSize, err = mapFieldUint32(f)
		case "numa_node":
			m.NumaNode, err = mapFieldUint32(f)
		case "pinning":
			m.Pinning, err = mapFieldUint32(f)
		case "map_extra":
			m.MapExtra, err = f.number()
		case "key":
			m.key, m.KeySize, err = mapFieldType(f)
		case "value":
			m.value, m.ValueSize, err = mapFieldType(f)
		case "values":
			if inner {
				err = fmt.Errorf("an inner map with values of its own: maps of maps nest one level only")
				break
			}
			var innerFields []mapField
			if m.valuesOffset, innerFields, err = f.values(); err != nil {
				break
			}
			m.hasValues = true
			if innerFields != nil {
				if m.Inner, err = btfMapDef(name+".inner", innerFields, true); err != nil {
					err = fmt.Errorf("inner map: %w", err)
				}
			}
		default:
			err = fmt.Errorf("unrecognized field %q", f.fieldName())
		}
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.fieldName(), errors.Join(err, ErrMalformed))
		}
	}
	if m.Pinning > PinByName {
		return nil, fmt.Errorf("pinning %d: only 0 (none) and 1 (by name) exist: %w", m.Pinning, ErrMalformed)
	}
	switch m.Type {
	case uapi.MapTypeProgArray, uapi.MapTypeArrayOfMaps, uapi.MapTypeHashOfMaps:
		// Elements are fds, 4 bytes, whatever pointer type `values`
		// declares; an array's key is its u32 index.
		m.value, m.ValueSize = typeRef{}, 4
		if m.KeySize == 0 {
			m.KeySize = 4
		}
	case uapi.MapTypeRingBuf, uapi.MapTypeUserRingBuf:
		// libbpf-style objects often give a ring buffer the type of its
		// records as value; the kernel wants neither key nor value.
		m.key, m.value, m.KeySize, m.ValueSize = typeRef{}, typeRef{}, 0, 0
	case uapi.MapTypePerfEventArray:
		// The key is a CPU number and the value a perf event fd, whatever
		// the definition says: tools declare the event struct as the
		// value type (__type(value, struct event)), which the kernel
		// would refuse. cilium/ebpf does the same; libbpf fails there.
		m.key, m.value, m.KeySize, m.ValueSize = typeRef{}, typeRef{}, 4, 4
	}
	if isMapOfMaps(m.Type) && m.Inner == nil {
		return nil, fmt.Errorf("map of maps without an inner map definition (__array(values, ...)): %w", ErrMalformed)
	}
	return m, nil
}

func mapFieldUint32(f mapField) (uint32, error) {
	v, err := f.number()
	if err != nil {
		return 0, err
	}
	if v > math.MaxUint32 {
		return 0, fmt.Errorf("value %d does not fit 32 bits", v)
	}
	return uint32(v), nil
}

func mapFieldType(f mapField) (typeRef, uint32, error) {
	ref, size, err := f.typeOf()
	if err != nil {
		return typeRef{}, 0, err
	}
	if size > math.MaxUint32 {
		return typeRef{}, 0, fmt.Errorf("%s takes %d bytes, which does not fit 32 bits", ref.get(), size)
	}
	return ref, uint32(size), nil
}

// typedField is a member of a decoded map definition.
type typedField btf.Member

func typedMapFields(typ btf.Type) ([]mapField, error) {
	def, ok := btf.UnderlyingType(typ).(*btf.Struct)
	if !ok {
		return nil, fmt.Errorf("definition is %s, not a struct: %w", typ, ErrMalformed)
	}
	fields := make([]mapField, len(def.Members))
	for i, member := range def.Members {
		fields[i] = typedField(member)
	}
	return fields, nil
}

func (f typedField) fieldName() string { return f.Name }

// number also reads libbpf's __ulong, which encodes a 64-bit value as
// the only value of an anonymous enum.
func (f typedField) number() (uint64, error) {
	if enum, ok := btf.UnderlyingType(f.Type).(*btf.Enum); ok {
		if len(enum.Values) != 1 {
			return 0, fmt.Errorf("%s has %d values, want 1", f.Type, len(enum.Values))
		}
		return enum.Values[0].Value, nil
	}
	ptr, ok := btf.UnderlyingType(f.Type).(*btf.Pointer)
	if !ok {
		return 0, fmt.Errorf("%s is not a pointer to an array", f.Type)
	}
	arr, ok := btf.UnderlyingType(ptr.Target).(*btf.Array)
	if !ok {
		return 0, fmt.Errorf("%s does not point to an array", f.Type)
	}
	return uint64(arr.Nelems), nil
}

func (f typedField) typeOf() (typeRef, uint64, error) {
	ptr, ok := btf.UnderlyingType(f.Type).(*btf.Pointer)
	if !ok {
		return typeRef{}, 0, fmt.Errorf("%s is not a pointer", f.Type)
	}
	size, err := btf.Sizeof(ptr.Target)
	if err != nil {
		return typeRef{}, 0, err
	}
	return typeRef{typ: ptr.Target}, uint64(size), nil
}

// values reads the `values` member, an array of pointers: to an inner
// map definition for maps of maps, the template every inner map must
// match; to a function prototype for program arrays.
func (f typedField) values() (uint64, []mapField, error) {
	arr, ok := btf.UnderlyingType(f.Type).(*btf.Array)
	if !ok {
		return 0, nil, fmt.Errorf("%s is not an array", f.Type)
	}
	ptr, ok := btf.UnderlyingType(arr.Type).(*btf.Pointer)
	if !ok {
		return 0, nil, fmt.Errorf("%s is not an array of pointers", f.Type)
	}
	if def, ok := btf.UnderlyingType(ptr.Target).(*btf.Struct); ok {
		fields, err := typedMapFields(def)
		return uint64(f.Offset.Bytes()), fields, err
	}
	return uint64(f.Offset.Bytes()), nil, nil
}

// rawField is a member of a map definition in the passthrough BTF. Its
// errors only say that the raw reading gives up: the decoded types are
// read again and word them.
type rawField struct {
	p *passBTF
	rawMember
}

var errRawMapField = errors.New("map field not read raw")

// rawMapFields lists the members of the map definition type id.
func (p *passBTF) rawMapFields(id uint32) ([]mapField, bool) {
	_, t, ok := p.underlying(id)
	if !ok || t.kind != btfKindStruct {
		return nil, false
	}
	members, ok := p.members(t)
	if !ok {
		return nil, false
	}
	fields := make([]mapField, len(members))
	for i, m := range members {
		if !t.kflag && p.legacyBitfield(m.typ) {
			return nil, false
		}
		fields[i] = rawField{p, m}
	}
	return fields, true
}

// legacyBitfield reports whether type id is an integer with a bit offset
// or fewer bits than bytes, which moves a member it types.
func (p *passBTF) legacyBitfield(id uint32) bool {
	t, ok := p.typ(id)
	if !ok || t.kind != btfKindInt {
		return false
	}
	enc := binary.NativeEndian.Uint32(t.rec[btfTypeLen:])
	return enc>>16&0xff != 0 || uint64(enc&0xff) != 8*uint64(t.sizeType)
}

func (f rawField) fieldName() string { return f.name }

func (f rawField) number() (uint64, error) {
	_, t, ok := f.p.underlying(f.typ)
	switch {
	case !ok:
	case (t.kind == btfKindEnum || t.kind == btfKindEnum64) && t.vlen == 1:
		rec := t.rec[btfTypeLen:]
		lo := binary.NativeEndian.Uint32(rec[4:])
		if t.kind == btfKindEnum64 {
			return uint64(binary.NativeEndian.Uint32(rec[8:]))<<32 | uint64(lo), nil
		}
		if t.kflag {
			return uint64(int64(int32(lo))), nil
		}
		return uint64(lo), nil
	case t.kind == btfKindPointer:
		if _, arr, ok := f.p.underlying(t.sizeType); ok && arr.kind == btfKindArray {
			return uint64(binary.NativeEndian.Uint32(arr.rec[btfTypeLen+8:])), nil
		}
	}
	return 0, errRawMapField
}

func (f rawField) typeOf() (typeRef, uint64, error) {
	_, t, ok := f.p.underlying(f.typ)
	if !ok || t.kind != btfKindPointer {
		return typeRef{}, 0, errRawMapField
	}
	size, ok := f.p.sizeof(t.sizeType)
	if !ok || size > math.MaxInt {
		return typeRef{}, 0, errRawMapField
	}
	return typeRef{id: btf.TypeID(t.sizeType), lazy: f.p.lazy}, size, nil
}

func (f rawField) values() (uint64, []mapField, error) {
	_, arr, ok := f.p.underlying(f.typ)
	if !ok || arr.kind != btfKindArray {
		return 0, nil, errRawMapField
	}
	_, ptr, ok := f.p.underlying(binary.NativeEndian.Uint32(arr.rec[btfTypeLen:]))
	if !ok || ptr.kind != btfKindPointer {
		return 0, nil, errRawMapField
	}
	offset := uint64(f.bitsOff / 8)
	if _, def, ok := f.p.underlying(ptr.sizeType); ok && def.kind == btfKindStruct {
		fields, ok := f.p.rawMapFields(ptr.sizeType)
		if !ok {
			return 0, nil, errRawMapField
		}
		return offset, fields, nil
	}
	return offset, nil, nil
}
