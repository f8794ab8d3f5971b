package reloc

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf/btf"

	"github.com/rawload/rawload/elf"
	"github.com/rawload/rawload/internal/uapi"
)

// isGlobalData reports whether a section holds global variables that
// become a single-element array map: .data, .rodata, .bss and their named
// variants such as .data.extra or .rodata.str1.1.
func isGlobalData(sec *elf.Section) bool {
	if sec.Flags&elf.SHF_EXECINSTR != 0 || sec.Size == 0 {
		return false
	}
	for _, base := range []string{".data", ".rodata", ".bss"} {
		if sec.Name == base || strings.HasPrefix(sec.Name, base+".") {
			return true
		}
	}
	return false
}

// maxGlobalDataSize bounds the global data of one object, summed over
// all its global data sections and .kconfig. A loader allocates the whole
// value of each such map (its initial contents, then the mmapped value),
// and neither .bss (SHT_NOBITS) nor .kconfig (a BTF datasec) takes room
// in the file: their sizes are only stated, so a bound per section would
// let a small file with many sections ask for any amount.
const maxGlobalDataSize = 64 << 20

// reserveGlobalData counts size bytes of global data against the
// object's maxGlobalDataSize.
func (l *linker) reserveGlobalData(name string, size uint64) error {
	if size > maxGlobalDataSize-l.globalData {
		return fmt.Errorf("section %s: %d bytes of global data after %d in other sections, more than the %d rawload accepts for an object: %w",
			name, size, l.globalData, uint64(maxGlobalDataSize), ErrLimit)
	}
	l.globalData += size
	return nil
}

func (l *linker) addGlobalData(sec *elf.Section) error {
	if err := l.reserveGlobalData(sec.Name, sec.Size); err != nil {
		return err
	}
	readOnly := strings.HasPrefix(sec.Name, ".rodata")
	m := &MapSpec{
		Name:       sec.Name,
		Section:    sec.Name,
		Source:     MapGlobalData,
		Type:       uapi.MapTypeArray,
		KeySize:    4,
		ValueSize:  uint32(sec.Size),
		MaxEntries: 1,
		Flags:      uapi.FlagMmapable,
		Contents:   sec.Data,
		Freeze:     readOnly,
	}
	if readOnly {
		m.Flags |= uapi.FlagRdOnlyProg
	}
	if ds, found, _ := l.datasec(sec.Name, true); found {
		m.Value = ds
	}
	index := len(l.obj.Maps)
	l.dataMapOf[sec.Index] = index
	l.obj.Maps = append(l.obj.Maps, m)
	ds, _ := m.Value.(*btf.Datasec)
	types := datasecVarTypes(ds)
	for _, sym := range l.symbolsIn(sec) {
		if sym.Type != elf.STT_OBJECT {
			continue
		}
		l.obj.Variables = append(l.obj.Variables, &Variable{
			Name:    sym.Name,
			Section: sec.Name,
			Map:     index,
			Offset:  sym.Value,
			Size:    sym.Size,
			Type:    types[sym.Name],
		})
	}
	return nil
}

// datasecVarTypes maps the name of each variable of ds to its BTF type,
// the first of that name winning. A variable missing from the map has no
// type: objects built without BTF, and static variables clang leaves out.
func datasecVarTypes(ds *btf.Datasec) map[string]btf.Type {
	if ds == nil {
		return nil
	}
	types := make(map[string]btf.Type, len(ds.Vars))
	for _, vsi := range ds.Vars {
		if v, ok := vsi.Type.(*btf.Var); ok {
			if _, dup := types[v.Name]; !dup {
				types[v.Name] = v.Type
			}
		}
	}
	return types
}
