package reloc

import (
	"github.com/cilium/ebpf/btf"
)

// Relocation kinds that need the whole target BTF: BPF_CORE_TYPE_ID_TARGET
// is a type id in it, BPF_CORE_TYPE_MATCHES compares types through
// pointers all the way down.
const (
	coreTypeIDTarget = 7
	coreTypeMatches  = 12
)

// coreTypeNames names the local types of the object's CO-RE relocations,
// read from .BTF.ext: what a CO-RE target needs to hold. all is set when
// the target must be the whole kernel BTF: a relocation asks for a
// target type id or a type match, or the records cannot be read (then cilium/ebpf's
// reading of them decides).
func (l *linker) coreTypeNames() (names []string, all bool) {
	sec := l.file.Section(".BTF.ext")
	if sec == nil || (l.spec == nil && l.coreLocal == nil) {
		return nil, true
	}
	data, bo := sec.Data, l.file.ByteOrder
	if len(data) < 32 {
		return nil, true
	}
	hdrLen := uint64(bo.Uint32(data[4:]))
	if hdrLen < 32 || hdrLen > uint64(len(data)) {
		return nil, true
	}
	off, size := uint64(bo.Uint32(data[24:])), uint64(bo.Uint32(data[28:]))
	if hdrLen+off+size > uint64(len(data)) || size < 4 {
		return nil, true
	}
	relos := data[hdrLen+off : hdrLen+off+size]
	recSize := uint64(bo.Uint32(relos))
	if recSize < 16 {
		return nil, true
	}
	seen := make(map[btf.TypeID]bool)
	for p := uint64(4); p < uint64(len(relos)); {
		if p+8 > uint64(len(relos)) {
			return nil, true
		}
		count := uint64(bo.Uint32(relos[p+4:]))
		p += 8
		if count*recSize > uint64(len(relos))-p {
			return nil, true
		}
		for i := range count {
			rec := relos[p+i*recSize:]
			id, kind := btf.TypeID(bo.Uint32(rec[4:])), bo.Uint32(rec[12:])
			if kind == coreTypeIDTarget || kind == coreTypeMatches {
				return nil, true
			}
			if seen[id] {
				continue
			}
			seen[id] = true
			name, ok := l.localTypeName(id)
			if !ok {
				return nil, true
			}
			if name != "" {
				names = append(names, name)
			}
		}
		p += count * recSize
	}
	return names, false
}

// localTypeName is the name of the object's type id, false for an id its
// BTF does not have.
func (l *linker) localTypeName(id btf.TypeID) (string, bool) {
	if l.coreLocal != nil {
		return l.coreLocal.typeName(id)
	}
	typ, err := l.spec.TypeByID(id)
	if err != nil {
		return "", false
	}
	return typ.TypeName(), true
}
