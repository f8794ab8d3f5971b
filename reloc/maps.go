package reloc

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/cilium/ebpf/btf"

	"github.com/rawload/rawload/elf"
	"github.com/rawload/rawload/internal/uapi"
)

// collectMaps finds every map the object defines, in a stable order: BTF
// maps, legacy maps, then global data sections, each in file order.
func (l *linker) collectMaps() error {
	l.mapAt = make(map[mapLocation]int)
	l.dataMapOf = make(map[int]int)
	for _, sec := range l.file.Sections {
		var err error
		switch {
		case sec.Name == ".maps":
			err = l.collectBTFMaps(sec)
		case sec.Name == "maps" || strings.HasPrefix(sec.Name, "maps/"):
			err = l.collectLegacyMaps(sec)
		case isStructOpsSection(sec):
			err = l.collectStructOps(sec)
		}
		if err != nil {
			return err
		}
	}
	if err := l.collectKconfig(); err != nil {
		return err
	}
	for _, sec := range l.file.Sections {
		if isGlobalData(sec) {
			if err := l.addGlobalData(sec); err != nil {
				return err
			}
		}
	}
	return nil
}

func (l *linker) addMap(m *MapSpec, loc mapLocation) {
	l.mapAt[loc] = len(l.obj.Maps)
	l.obj.Maps = append(l.obj.Maps, m)
}

// symbolsIn returns the named data symbols defined in a section, by offset.
func (l *linker) symbolsIn(sec *elf.Section) []elf.Symbol {
	var syms []elf.Symbol
	for _, sym := range l.sectionSymbols(sec) {
		if sym.Name == "" || (sym.Type != elf.STT_OBJECT && sym.Type != elf.STT_NOTYPE) {
			continue
		}
		syms = append(syms, sym)
	}
	sort.SliceStable(syms, func(i, j int) bool { return syms[i].Value < syms[j].Value })
	return syms
}

// sectionSymbols returns the symbols defined in a section, in symbol
// table order. The table is split by section once, so that an object
// with many sections and many symbols costs their sum, not product.
func (l *linker) sectionSymbols(sec *elf.Section) []elf.Symbol {
	if l.symbolsBySection == nil {
		l.symbolsBySection = make(map[int][]elf.Symbol)
		for _, sym := range l.file.Symbols {
			if sym.Section != elf.SHN_UNDEF && int(sym.Section) < len(l.file.Sections) {
				l.symbolsBySection[int(sym.Section)] = append(l.symbolsBySection[int(sym.Section)], sym)
			}
		}
	}
	return l.symbolsBySection[sec.Index]
}

// legacyMapDefSize is the size of libbpf's struct bpf_map_def: type,
// key_size, value_size, max_entries, map_flags.
const legacyMapDefSize = 20

func (l *linker) collectLegacyMaps(sec *elf.Section) error {
	syms := l.symbolsIn(sec)
	if len(syms) == 0 {
		return nil
	}
	if sec.Data == nil {
		return fmt.Errorf("section %s: no contents: %w", sec.Name, ErrMalformed)
	}
	bo := l.file.ByteOrder
	for _, sym := range syms {
		// Objects linked from several files mix definitions of different
		// sizes, so the symbol's size wins over an even split.
		defSize := sym.Size
		if defSize == 0 {
			defSize = uint64(len(sec.Data) / len(syms))
		}
		if defSize < legacyMapDefSize || sym.Value > uint64(len(sec.Data)) || defSize > uint64(len(sec.Data))-sym.Value {
			return fmt.Errorf("section %s: map %q: %d bytes at offset %#x, need %d within the section: %w",
				sec.Name, sym.Name, defSize, sym.Value, legacyMapDefSize, ErrMalformed)
		}
		def := sec.Data[sym.Value : sym.Value+defSize]
		m := &MapSpec{
			Name:       sym.Name,
			Section:    sec.Name,
			Source:     MapLegacy,
			Type:       bo.Uint32(def[0:]),
			KeySize:    bo.Uint32(def[4:]),
			ValueSize:  bo.Uint32(def[8:]),
			MaxEntries: bo.Uint32(def[12:]),
			Flags:      bo.Uint32(def[16:]),
		}
		l.addMap(m, mapLocation{sec.Index, sym.Value})
	}
	return nil
}

func (l *linker) collectBTFMaps(sec *elf.Section) error {
	if l.spec == nil {
		return fmt.Errorf("section .maps: %w", errNoBTF)
	}
	ds, _, err := l.datasec(".maps", false)
	if err != nil {
		return fmt.Errorf("section .maps: finding its BTF datasec: %w", err)
	}
	for _, vsi := range ds.Vars {
		v, ok := vsi.Type.(*btf.Var)
		if !ok {
			return fmt.Errorf("section .maps: offset %#x: %s is not a variable: %w", vsi.Offset, vsi.Type, ErrMalformed)
		}
		m, err := btfMapSpec(v.Name, v.Type)
		if err != nil {
			return fmt.Errorf("section .maps: map %q: %w", v.Name, err)
		}
		l.addMap(m, mapLocation{sec.Index, uint64(vsi.Offset)})
		l.mapDefs = append(l.mapDefs, mapDef{index: len(l.obj.Maps) - 1, offset: uint64(vsi.Offset), size: uint64(vsi.Size)})
	}
	return l.collectMapValues(sec)
}

// btfMapSpec decodes a map definition written with libbpf's __uint, __type
// and __array macros: integers are encoded as the element count of an
// array a member points to, types as the target of a pointer member.
func btfMapSpec(name string, typ btf.Type) (*MapSpec, error) {
	return btfMapDef(name, typ, false)
}

// btfMapDef is btfMapSpec for an outer map, or for the inner map template
// of a map of maps. The kernel has only one level of maps in maps, and a
// BTF type may refer to itself: an inner definition with values of its
// own is refused, which also ends the recursion.
func btfMapDef(name string, typ btf.Type, inner bool) (*MapSpec, error) {
	def, ok := btf.UnderlyingType(typ).(*btf.Struct)
	if !ok {
		return nil, fmt.Errorf("definition is %s, not a struct: %w", typ, ErrMalformed)
	}
	m := &MapSpec{Name: name, Section: ".maps", Source: MapBTF}
	for _, member := range def.Members {
		var err error
		switch member.Name {
		case "type":
			m.Type, err = btfMapInt(member)
		case "map_flags":
			m.Flags, err = btfMapInt(member)
		case "max_entries":
			m.MaxEntries, err = btfMapInt(member)
		case "key_size":
			m.KeySize, err = btfMapInt(member)
		case "value_size":
			m.ValueSize, err = btfMapInt(member)
		case "numa_node":
			m.NumaNode, err = btfMapInt(member)
		case "pinning":
			m.Pinning, err = btfMapInt(member)
		case "map_extra":
			m.MapExtra, err = btfMapInt64(member)
		case "key":
			m.Key, m.KeySize, err = btfMapType(member)
		case "value":
			m.Value, m.ValueSize, err = btfMapType(member)
		case "values":
			if inner {
				err = fmt.Errorf("an inner map with values of its own: maps of maps nest one level only")
				break
			}
			err = m.readValuesField(name, member)
		default:
			err = fmt.Errorf("unrecognized field %q", member.Name)
		}
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", member.Name, errors.Join(err, ErrMalformed))
		}
	}
	if m.Pinning > PinByName {
		return nil, fmt.Errorf("pinning %d: only 0 (none) and 1 (by name) exist: %w", m.Pinning, ErrMalformed)
	}
	switch m.Type {
	case uapi.MapTypeProgArray, uapi.MapTypeArrayOfMaps, uapi.MapTypeHashOfMaps:
		// Elements are fds, 4 bytes, whatever pointer type `values`
		// declares; an array's key is its u32 index.
		m.Value, m.ValueSize = nil, 4
		if m.KeySize == 0 {
			m.KeySize = 4
		}
	case uapi.MapTypeRingBuf, uapi.MapTypeUserRingBuf:
		// libbpf-style objects often give a ring buffer the type of its
		// records as value; the kernel wants neither key nor value.
		m.Key, m.Value, m.KeySize, m.ValueSize = nil, nil, 0, 0
	case uapi.MapTypePerfEventArray:
		// The key is a CPU number and the value a perf event fd, whatever
		// the definition says: tools declare the event struct as the
		// value type (__type(value, struct event)), which the kernel
		// would refuse. cilium/ebpf does the same; libbpf fails there.
		m.Key, m.Value, m.KeySize, m.ValueSize = nil, nil, 4, 4
	}
	if isMapOfMaps(m.Type) && m.Inner == nil {
		return nil, fmt.Errorf("map of maps without an inner map definition (__array(values, ...)): %w", ErrMalformed)
	}
	return m, nil
}

func btfMapInt(member btf.Member) (uint32, error) {
	v, err := btfMapInt64(member)
	if err != nil {
		return 0, err
	}
	if v > math.MaxUint32 {
		return 0, fmt.Errorf("value %d does not fit 32 bits", v)
	}
	return uint32(v), nil
}

// btfMapInt64 also reads libbpf's __ulong, which encodes a 64-bit value as
// the only value of an anonymous enum.
func btfMapInt64(member btf.Member) (uint64, error) {
	if enum, ok := btf.UnderlyingType(member.Type).(*btf.Enum); ok {
		if len(enum.Values) != 1 {
			return 0, fmt.Errorf("%s has %d values, want 1", member.Type, len(enum.Values))
		}
		return enum.Values[0].Value, nil
	}
	ptr, ok := btf.UnderlyingType(member.Type).(*btf.Pointer)
	if !ok {
		return 0, fmt.Errorf("%s is not a pointer to an array", member.Type)
	}
	arr, ok := btf.UnderlyingType(ptr.Target).(*btf.Array)
	if !ok {
		return 0, fmt.Errorf("%s does not point to an array", member.Type)
	}
	return uint64(arr.Nelems), nil
}

func btfMapType(member btf.Member) (btf.Type, uint32, error) {
	ptr, ok := btf.UnderlyingType(member.Type).(*btf.Pointer)
	if !ok {
		return nil, 0, fmt.Errorf("%s is not a pointer", member.Type)
	}
	size, err := btf.Sizeof(ptr.Target)
	if err != nil {
		return nil, 0, err
	}
	if uint64(size) > math.MaxUint32 {
		return nil, 0, fmt.Errorf("%s takes %d bytes, which does not fit 32 bits", ptr.Target, size)
	}
	return ptr.Target, uint32(size), nil
}
