package reloc

import (
	"fmt"
	"sort"

	"github.com/rawload/rawload/elf"
	"github.com/rawload/rawload/internal/uapi"
)

// MapValue is an initial element of a map of maps or a program array,
// written in C as `.values = { [Index] = &thing }`.
type MapValue struct {
	Index uint32
	// Map is the index in Object.Maps of the inner map, or -1.
	Map int
	// Program names the program of a program array slot, or is "".
	Program string
}

// mapDef is where a BTF map definition sits in the .maps section, so that
// relocations into its values array can be attributed to it.
type mapDef struct {
	index        int
	offset, size uint64
}

func isMapOfMaps(typ uint32) bool {
	return typ == uapi.MapTypeArrayOfMaps || typ == uapi.MapTypeHashOfMaps
}

// collectMapValues reads the relocations of the .maps section: each is a
// pointer in some map's values array, to another map or to a program.
func (l *linker) collectMapValues(sec *elf.Section) error {
	rels, err := l.file.RelocationsFor(sec)
	if err != nil || len(rels) == 0 {
		return err
	}
	sort.Slice(l.mapDefs, func(i, j int) bool { return l.mapDefs[i].offset < l.mapDefs[j].offset })
	for _, rel := range rels {
		def, ok := l.mapDefAt(rel.Offset)
		if !ok {
			return fmt.Errorf("section .maps: relocation at %#x is outside every map: %w", rel.Offset, ErrMalformed)
		}
		m := l.obj.Maps[def.index]
		start := def.offset + m.valuesOffset
		if !m.hasValues || rel.Offset < start || (rel.Offset-start)%8 != 0 {
			return fmt.Errorf("section .maps: map %q: relocation at %#x is not in its values: %w", m.Name, rel.Offset, ErrMalformed)
		}
		value := MapValue{Index: uint32((rel.Offset - start) / 8), Map: -1}
		sym := l.file.Symbols[rel.Symbol]
		switch {
		case sym.Type == elf.STT_FUNC:
			value.Program = sym.Name
			if m.Type != uapi.MapTypeProgArray {
				return fmt.Errorf("section .maps: map %q: program %q in a map that is no program array: %w", m.Name, sym.Name, ErrMalformed)
			}
		case int(sym.Section) == sec.Index:
			index, ok := l.mapAt[mapLocation{sec.Index, sym.Value}]
			if !ok || !isMapOfMaps(m.Type) {
				return fmt.Errorf("section .maps: map %q: value %q is not a map, or the map holds no maps: %w", m.Name, sym.Name, ErrMalformed)
			}
			value.Map = index
		default:
			return fmt.Errorf("section .maps: map %q: value %q is neither a map nor a program: %w", m.Name, sym.Name, ErrMalformed)
		}
		if value.Index >= m.MaxEntries && m.Type != uapi.MapTypeHashOfMaps {
			return fmt.Errorf("section .maps: map %q: value at index %d beyond max_entries %d: %w", m.Name, value.Index, m.MaxEntries, ErrMalformed)
		}
		m.Values = append(m.Values, value)
	}
	return nil
}

func (l *linker) mapDefAt(off uint64) (mapDef, bool) {
	i := sort.Search(len(l.mapDefs), func(i int) bool { return l.mapDefs[i].offset > off })
	if i == 0 {
		return mapDef{}, false
	}
	def := l.mapDefs[i-1]
	return def, off < def.offset+max(def.size, 1)
}
