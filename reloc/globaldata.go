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

// maxGlobalDataSize bounds what a global data section may ask for: .bss
// takes no room in the file, so its size alone must not decide how much
// memory rawload allocates. The kernel refuses far smaller values anyway.
const maxGlobalDataSize = 64 << 20

func (l *linker) addGlobalData(sec *elf.Section) error {
	if sec.Size > maxGlobalDataSize {
		return fmt.Errorf("section %s: %d bytes of global data, more than the %d rawload accepts: %w",
			sec.Name, sec.Size, maxGlobalDataSize, ErrMalformed)
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
	if l.spec != nil {
		var ds *btf.Datasec
		if l.spec.TypeByName(sec.Name, &ds) == nil {
			m.Value = ds
		}
	}
	index := len(l.obj.Maps)
	l.dataMapOf[sec.Index] = index
	l.obj.Maps = append(l.obj.Maps, m)
	ds, _ := m.Value.(*btf.Datasec)
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
			Type:    datasecVarType(ds, sym.Name),
		})
	}
	return nil
}

// datasecVarType is the BTF type of the variable called name in ds, or
// nil: objects built without BTF, and static variables clang leaves out.
func datasecVarType(ds *btf.Datasec, name string) btf.Type {
	if ds == nil {
		return nil
	}
	for _, vsi := range ds.Vars {
		if v, ok := vsi.Type.(*btf.Var); ok && v.Name == name {
			return v.Type
		}
	}
	return nil
}
