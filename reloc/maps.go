package reloc

import (
	"fmt"
	"sort"
	"strings"

	"github.com/rawload/rawload/elf"
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
		defined := func(sym elf.Symbol) bool {
			return sym.Section != elf.SHN_UNDEF && int(sym.Section) < len(l.file.Sections)
		}
		counts := make([]int, len(l.file.Sections))
		n := 0
		for _, sym := range l.file.Symbols {
			if defined(sym) {
				counts[sym.Section]++
				n++
			}
		}
		// One array for all, each section's part capped at its own end.
		backing := make([]elf.Symbol, 0, n)
		l.symbolsBySection = make([][]elf.Symbol, len(l.file.Sections))
		for i, c := range counts {
			l.symbolsBySection[i] = backing[len(backing) : len(backing) : len(backing)+c]
			backing = backing[:len(backing)+c]
		}
		for _, sym := range l.file.Symbols {
			if defined(sym) {
				l.symbolsBySection[sym.Section] = append(l.symbolsBySection[sym.Section], sym)
			}
		}
	}
	if sec.Index < 0 || sec.Index >= len(l.symbolsBySection) {
		return nil
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
