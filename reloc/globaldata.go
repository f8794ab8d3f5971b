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
		if rest, ok := strings.CutPrefix(sec.Name, base); ok && (rest == "" || rest[0] == '.') {
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
	types := l.dataVarTypes(m, sec.Name)
	index := len(l.obj.Maps)
	l.dataMapOf[sec.Index] = index
	l.obj.Maps = append(l.obj.Maps, m)
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
			typ:     types[sym.Name],
		})
	}
	return nil
}

// dataVarTypes gives a global data map the type of its section, and maps
// the name of each of its variables to the variable's type, the first of
// that name winning. A variable missing from the map has no type:
// objects built without BTF, and static variables clang leaves out. An
// object whose BTF passes through has the ids read as they are.
func (l *linker) dataVarTypes(m *MapSpec, name string) map[string]typeRef {
	if p := l.pass; p != nil {
		id, ok := p.datasecs[name]
		if !ok {
			return nil
		}
		if vars, ok := p.datasecVars(id); ok {
			m.value = typeRef{id: btf.TypeID(id), lazy: p.lazy}
			types := make(map[string]typeRef, len(vars))
			for _, v := range vars {
				if _, dup := types[v.name]; !dup {
					types[v.name] = typeRef{id: btf.TypeID(v.typ), lazy: p.lazy}
				}
			}
			return types
		}
	}
	ds, found, _ := l.datasec(name, true)
	if !found {
		return nil
	}
	m.value = typeRef{typ: ds}
	types := make(map[string]typeRef, len(ds.Vars))
	for _, vsi := range ds.Vars {
		if v, ok := vsi.Type.(*btf.Var); ok {
			if _, dup := types[v.Name]; !dup {
				types[v.Name] = typeRef{typ: v.Type}
			}
		}
	}
	return types
}
