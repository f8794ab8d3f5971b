// Package rawbtf reads BTF without decoding it: a view of the type
// records of a blob, searched by name and copied out with what the types
// refer to. The kernel's vmlinux BTF is read this way for CO-RE targets,
// and an object's own BTF for the local types of its CO-RE relocations.
// Pure: no system calls.
package rawbtf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
)

// BTF is a read-only view of a BTF blob, vmlinux's or an object's: the type offsets,
// and nothing decoded. Finding a few types by name in it and copying out
// what they refer to costs a pass over 5.5 MB, where decoding the whole
// blob (btf.LoadKernelSpec) costs that pass plus an index of every name,
// several times the time and memory; a CO-RE object needs a few dozen
// of vmlinux's hundred thousand types.
//
// Every offset and id read from the blob is checked before use: a file
// standing in for vmlinux may be anything.
type BTF struct {
	order   binary.ByteOrder
	little  bool // order is little-endian
	types   []byte
	strings []byte
	// count is the number of type ids, void's included.
	count uint32
	// every[k] is where type id k*idStride+1 starts in types: the rest
	// are found by walking from there. An offset per type would take
	// 4 bytes for each of vmlinux's ~126,000 types, most of a fresh
	// process's heap.
	every []uint32
}

// idStride is how many types apart BTF records where a type starts.
const idStride = 16

// ErrBadBTF marks BTF bytes that contradict themselves.
var ErrBadBTF = errors.New("malformed BTF")

// BTF kinds (BTF_KIND_*).
const (
	KindInt       = 1
	KindPointer   = 2
	KindArray     = 3
	KindStruct    = 4
	KindUnion     = 5
	KindEnum      = 6
	KindFwd       = 7
	KindTypedef   = 8
	KindVolatile  = 9
	KindConst     = 10
	KindRestrict  = 11
	KindFunc      = 12
	KindFuncProto = 13
	KindVar       = 14
	KindDatasec   = 15
	KindFloat     = 16
	KindDeclTag   = 17
	KindTypeTag   = 18
	KindEnum64    = 19
)

const (
	btfMagic       = 0xeb9f
	btfHeaderLen   = 24
	btfTypeLen     = 12
	maxRawBTFTypes = 1 << 24 // ids are 32-bit; no kernel has a tenth of this
)

// Parse reads the header of data and the offset of every type.
func Parse(data []byte) (*BTF, error) {
	if len(data) < btfHeaderLen {
		return nil, fmt.Errorf("%d bytes, shorter than a BTF header: %w", len(data), ErrBadBTF)
	}
	var order binary.ByteOrder
	switch {
	case binary.LittleEndian.Uint16(data) == btfMagic:
		order = binary.LittleEndian
	case binary.BigEndian.Uint16(data) == btfMagic:
		order = binary.BigEndian
	default:
		return nil, fmt.Errorf("no BTF magic: %w", ErrBadBTF)
	}
	hdrLen := uint64(order.Uint32(data[4:]))
	typeOff, typeLen := uint64(order.Uint32(data[8:])), uint64(order.Uint32(data[12:]))
	strOff, strLen := uint64(order.Uint32(data[16:])), uint64(order.Uint32(data[20:]))
	if hdrLen < btfHeaderLen || hdrLen > uint64(len(data)) {
		return nil, fmt.Errorf("header length %d: %w", hdrLen, ErrBadBTF)
	}
	body := data[hdrLen:]
	if typeOff+typeLen > uint64(len(body)) || strOff+strLen > uint64(len(body)) || strLen == 0 {
		return nil, fmt.Errorf("type section %d+%d, string section %d+%d in %d bytes: %w", typeOff, typeLen, strOff, strLen, len(body), ErrBadBTF)
	}
	r := &BTF{order: order, little: order == binary.ByteOrder(binary.LittleEndian), types: body[typeOff : typeOff+typeLen], strings: body[strOff : strOff+strLen]}
	if r.strings[len(r.strings)-1] != 0 {
		return nil, fmt.Errorf("string section not NUL-terminated: %w", ErrBadBTF)
	}
	r.count = 1
	// Room for the most types the section can hold (12 bytes each at
	// least): one allocation, of which only what is used gets touched.
	r.every = make([]uint32, 0, uint64(len(r.types))/(btfTypeLen*idStride)+1)
	for off := uint64(0); off < uint64(len(r.types)); {
		if r.count >= maxRawBTFTypes {
			return nil, fmt.Errorf("more than %d types: %w", maxRawBTFTypes, ErrBadBTF)
		}
		if off+btfTypeLen > uint64(len(r.types)) {
			return nil, fmt.Errorf("type %d at %d: truncated: %w", r.count, off, ErrBadBTF)
		}
		n, err := r.typeLen(uint32(off))
		if err != nil {
			return nil, fmt.Errorf("type %d at %d: %w", r.count, off, err)
		}
		if (r.count-1)%idStride == 0 {
			r.every = append(r.every, uint32(off))
		}
		r.count++
		off += n
		if off > uint64(len(r.types)) {
			return nil, fmt.Errorf("type %d: extends past the type section: %w", r.count-1, ErrBadBTF)
		}
	}
	return r, nil
}

// Count is the number of type ids, void's included.
func (r *BTF) Count() uint32 { return r.count }

// offset is where type id (1 to count-1) starts in types.
func (r *BTF) offset(id uint32) uint32 {
	off := r.every[(id-1)/idStride]
	for range (id - 1) % idStride {
		off = r.next(off)
	}
	return off
}

// next is where the type after the one at off starts: Parse has
// checked every record.
func (r *BTF) next(off uint32) uint32 {
	kind, vlen := r.info(off)
	return off + uint32(recordLen(kind, vlen))
}

// each calls f with every type id from 1, where it starts and its kind,
// in order, until f returns false.
func (r *BTF) each(f func(id, off uint32, kind uint8) bool) {
	off := uint32(0)
	for id := uint32(1); id < r.count; id++ {
		kind, vlen := r.info(off)
		if !f(id, off, kind) {
			return
		}
		off += uint32(recordLen(kind, vlen))
	}
}

// u32 reads the word at off in types. The passes over every type of
// vmlinux read several words of each: no interface call for that.
func (r *BTF) u32(off uint32) uint32 {
	b := r.types[off : off+4]
	if r.little {
		return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
	}
	return uint32(b[3]) | uint32(b[2])<<8 | uint32(b[1])<<16 | uint32(b[0])<<24
}

func (r *BTF) info(off uint32) (kind uint8, vlen int) {
	info := r.u32(off + 4)
	return uint8(info>>24) & 0x1f, int(info & 0xffff)
}

// recordTail is what each kind adds to the 12-byte common part of a type
// record: a fixed part and a part per vlen item; valid marks the kinds
// there are. A table: the passes over vmlinux size every record.
var recordTail = func() (t [32]struct {
	fixed, perItem uint8
	valid          bool
}) {
	for _, k := range []uint8{KindPointer, KindFwd, KindTypedef, KindVolatile, KindConst, KindRestrict, KindFunc, KindFloat, KindTypeTag} {
		t[k].valid = true
	}
	for _, k := range []uint8{KindInt, KindVar, KindDeclTag} {
		t[k].valid, t[k].fixed = true, 4
	}
	t[KindArray].valid, t[KindArray].fixed = true, 12
	for _, k := range []uint8{KindStruct, KindUnion, KindDatasec, KindEnum64} {
		t[k].valid, t[k].perItem = true, 12
	}
	for _, k := range []uint8{KindEnum, KindFuncProto} {
		t[k].valid, t[k].perItem = true, 8
	}
	return t
}()

// recordLen is the length of a type record of that kind and vlen.
func recordLen(kind uint8, vlen int) uint64 {
	t := recordTail[kind&0x1f]
	return btfTypeLen + uint64(t.fixed) + uint64(t.perItem)*uint64(vlen)
}

// typeLen is the length of the type record at off: the common part and
// what its kind appends.
func (r *BTF) typeLen(off uint32) (uint64, error) {
	kind, vlen := r.info(off)
	if !recordTail[kind].valid {
		return 0, fmt.Errorf("unknown kind %d: %w", kind, ErrBadBTF)
	}
	return recordLen(kind, vlen), nil
}

// name returns the string at off, nil when off is outside the string
// section.
func (r *BTF) name(off uint32) []byte {
	if uint64(off) >= uint64(len(r.strings)) {
		return nil
	}
	s := r.strings[off:]
	return s[:bytes.IndexByte(s, 0)]
}

// String is the string at off in the string section; ok is false when
// off is outside it.
func (r *BTF) String(off uint32) (s []byte, ok bool) {
	if uint64(off) >= uint64(len(r.strings)) {
		return nil, false
	}
	return r.name(off), true
}

// TypeName is the name of type id, which must be from 1 to Count()-1.
func (r *BTF) TypeName(id uint32) []byte {
	return r.name(r.u32(r.offset(id)))
}

// EssentialName drops a ___flavour suffix, as CO-RE matches names.
func EssentialName(name []byte) []byte {
	if i := bytes.LastIndex(name, []byte("___")); i > 0 {
		return name[:i]
	}
	return name
}

// find returns the ids of the types whose kind want accepts and whose
// name, or essential name when essential is set, is in names, ascending.
// It is the pass over all of vmlinux a process's first CO-RE object
// makes: a loop of its own over the type headers, where a name's first
// byte rules most types out before the name is read.
func (r *BTF) Find(names map[string]bool, essential bool, want func(kind uint8) bool) []uint32 {
	var first [256]bool
	for name := range names {
		if name != "" {
			first[name[0]] = true
		}
	}
	var wanted [32]bool
	for k := range wanted {
		wanted[k] = want(uint8(k))
	}
	var ids []uint32
	off := uint32(0)
	for id := uint32(1); id < r.count; id++ {
		nameOff, info := r.u32(off), r.u32(off+4)
		kind, vlen := uint8(info>>24)&0x1f, int(info&0xffff)
		off += uint32(recordLen(kind, vlen))
		if !wanted[kind] || uint64(nameOff) >= uint64(len(r.strings)) || !first[r.strings[nameOff]] {
			continue
		}
		name := r.name(nameOff)
		if essential && bytes.Contains(name, []byte("___")) {
			name = EssentialName(name)
		}
		if names[string(name)] {
			ids = append(ids, id)
		}
	}
	return ids
}

// findFirst returns the lowest id of a type named name whose kind want
// accepts, 0 if there is none. It compares bytes in place: a lookup is a
// pass over the type headers, without reading every name.
func (r *BTF) FindFirst(name string, want func(kind uint8) bool) uint32 {
	if name == "" {
		return 0
	}
	found := uint32(0)
	r.each(func(id, off uint32, kind uint8) bool {
		nameOff := uint64(r.u32(off))
		end := nameOff + uint64(len(name))
		if nameOff == 0 || end >= uint64(len(r.strings)) || r.strings[end] != 0 || r.strings[nameOff] != name[0] {
			return true
		}
		if string(r.strings[nameOff:end]) != name {
			return true
		}
		if want(kind) {
			found = id
			return false
		}
		return true
	})
	return found
}

// refs calls f with the offset, within types, of every type id the
// record at off refers to.
func (r *BTF) refs(off uint32, f func(at uint32)) {
	kind, vlen := r.info(off)
	body := off + btfTypeLen
	switch kind {
	case KindPointer, KindTypedef, KindVolatile, KindConst, KindRestrict, KindFunc, KindFuncProto, KindVar, KindDeclTag, KindTypeTag:
		f(off + 8)
	}
	switch kind {
	case KindArray:
		f(body)
		f(body + 4)
	case KindStruct, KindUnion:
		for i := range uint32(vlen) {
			f(body + 12*i + 4)
		}
	case KindFuncProto:
		for i := range uint32(vlen) {
			f(body + 8*i + 4)
		}
	case KindDatasec:
		for i := range uint32(vlen) {
			f(body + 12*i)
		}
	}
}

// nameOffsets calls f with the offset, within types, of every string
// offset the record at off holds: its name, and its members', values' or
// parameters'.
func (r *BTF) nameOffsets(off uint32, f func(at uint32)) {
	kind, vlen := r.info(off)
	f(off)
	body := off + btfTypeLen
	switch kind {
	case KindStruct, KindUnion, KindEnum64:
		for i := range uint32(vlen) {
			f(body + 12*i)
		}
	case KindEnum, KindFuncProto:
		for i := range uint32(vlen) {
			f(body + 8*i)
		}
	}
}

// closure returns roots and the types CO-RE can reach from them,
// ascending, with the set of those kept as shells. A struct or union
// reached only through a pointer is a shell: its name, kind and size, no
// members. CO-RE never descends through a pointer to compute an offset,
// and where it compares types behind pointers (type_exists, type_size,
// member kinds) a struct is compatible with any struct; only
// bpf_core_type_matches compares the members behind a pointer, and its
// objects take the whole of vmlinux. A reference to an id that does not
// exist is an error.
func (r *BTF) Closure(roots []uint32) (ids []uint32, shells map[uint32]bool, err error) {
	const (
		unseen = iota
		shell
		full
	)
	type item struct {
		id       uint32
		behindPt bool
	}
	state := make(map[uint32]uint8, 64)
	stack := make([]item, 0, len(roots))
	for _, id := range roots {
		stack = append(stack, item{id, false})
	}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		id := it.id
		if id == 0 {
			continue
		}
		if id >= r.count {
			return nil, nil, fmt.Errorf("reference to type %d of %d: %w", id, r.count-1, ErrBadBTF)
		}
		off := r.offset(id)
		kind, _ := r.info(off)
		want := uint8(full)
		if it.behindPt {
			want = shell
		}
		if state[id] >= want {
			continue
		}
		state[id] = want
		if want == shell && (kind == KindStruct || kind == KindUnion) {
			continue
		}
		behind := it.behindPt || kind == KindPointer
		r.refs(off, func(at uint32) {
			if ref := r.u32(at); ref != 0 {
				stack = append(stack, item{ref, behind})
			}
		})
	}
	shells = make(map[uint32]bool)
	ids = make([]uint32, 0, len(state))
	r.each(func(id, off uint32, kind uint8) bool {
		switch state[id] {
		case shell:
			if kind == KindStruct || kind == KindUnion {
				shells[id] = true
			}
			ids = append(ids, id)
		case full:
			ids = append(ids, id)
		}
		return len(ids) < len(state)
	})
	return ids, shells, nil
}

// Extracted is a BTF blob Extract wrote, and where the strings it
// carried over went.
type Extracted struct {
	Blob []byte
	// olds are the original offsets of the strings carried over,
	// ascending; newOffs[i] is where olds[i] went.
	olds, newOffs []uint32
}

// StringOffset is where the string at old went, false if it was not
// carried over.
func (e *Extracted) StringOffset(old uint32) (uint32, bool) {
	i, found := slices.BinarySearch(e.olds, old)
	if !found {
		return 0, false
	}
	return e.newOffs[i], true
}

// Extract writes a BTF blob holding only ids (a closure, ascending),
// renumbered from 1 in the same order (NewID), with only their strings
// and those at the offsets in extra (strings something outside the types
// names, such as .BTF.ext's section names); shells are written without
// their members. Besides the blob it allocates two lists of string
// offsets and no map: a CO-RE target is extracted in every process that
// loads a CO-RE object.
func (r *BTF) Extract(ids []uint32, shells map[uint32]bool, extra []uint32) *Extracted {
	// The string offsets the records hold, each once, ascending; the
	// strings are copied in that order.
	olds := append([]uint32{0}, extra...)
	size := 0
	offs := make([]uint32, len(ids))
	var walk walker
	for i, id := range ids {
		off := walk.offset(r, id)
		offs[i] = off
		end := r.recordEnd(id, off, shells)
		size += int(end - off)
		r.nameOffsets(off, func(at uint32) {
			if at < end {
				olds = append(olds, r.u32(at))
			}
		})
	}
	sort.Slice(olds, func(i, j int) bool { return olds[i] < olds[j] })
	olds = slices.Compact(olds)
	newOffs := make([]uint32, len(olds))
	strLen := uint32(0)
	for i, old := range olds {
		newOffs[i] = strLen
		strLen += uint32(len(r.name(old))) + 1
	}

	out := make([]byte, btfHeaderLen, btfHeaderLen+uint32(size)+strLen)
	r.order.PutUint16(out, btfMagic)
	out[2] = 1 // version
	r.order.PutUint32(out[4:], btfHeaderLen)
	r.order.PutUint32(out[8:], 0)
	r.order.PutUint32(out[12:], uint32(size))
	r.order.PutUint32(out[16:], uint32(size))
	r.order.PutUint32(out[20:], strLen)
	for i, id := range ids {
		off := offs[i]
		end := r.recordEnd(id, off, shells)
		start := uint32(len(out))
		out = append(out, r.types[off:end]...)
		rec := out[start:]
		r.nameOffsets(off, func(at uint32) {
			if at < end {
				p := rec[at-off:]
				i, _ := slices.BinarySearch(olds, r.order.Uint32(p))
				r.order.PutUint32(p, newOffs[i])
			}
		})
		if shells[id] {
			// vlen 0, kind and kind_flag kept; the size stays.
			r.order.PutUint32(rec[4:], r.order.Uint32(rec[4:])&^0xffff)
			continue
		}
		r.refs(off, func(at uint32) {
			p := rec[at-off:]
			r.order.PutUint32(p, NewID(ids, r.order.Uint32(p)))
		})
	}
	for _, old := range olds {
		out = append(append(out, r.name(old)...), 0)
	}
	return &Extracted{Blob: out, olds: olds, newOffs: newOffs}
}

// walker finds where types start for ids visited in ascending order,
// walking on from the last one found rather than from the index entry
// before each: Extract visits a closure's thousands of ids in order.
type walker struct{ id, off uint32 }

func (w *walker) offset(r *BTF, id uint32) uint32 {
	if w.id == 0 || id < w.id || id-w.id >= idStride {
		w.id, w.off = id, r.offset(id)
		return w.off
	}
	for ; w.id < id; w.id++ {
		w.off = r.next(w.off)
	}
	return w.off
}

// recordEnd is where the record of id, at off, ends as Extract writes
// it: a shell keeps its common part alone.
func (r *BTF) recordEnd(id, off uint32, shells map[uint32]bool) uint32 {
	if shells[id] {
		return off + btfTypeLen
	}
	return r.next(off)
}

// NewID is the id Extract(ids, ...) gives type old: its place in ids,
// from 1; 0 for void or a type ids does not hold.
func NewID(ids []uint32, old uint32) uint32 {
	at, found := slices.BinarySearch(ids, old)
	if !found {
		return 0
	}
	return uint32(at + 1)
}
