package reloc

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf/btf"

	"github.com/rawload/rawload/elf"
	"github.com/rawload/rawload/internal/uapi"
)

// StructOps is what a struct_ops map holds: a variable of a kernel
// struct type (tcp_congestion_ops, sched_ext_ops...) defined in a
// .struct_ops or .struct_ops.link section, whose function pointers name
// the object's struct_ops programs.
type StructOps struct {
	// Type is the struct as the object declares it, often with only the
	// members it sets; the loader matches members to the kernel's struct
	// of the same name by member name.
	Type *btf.Struct
	// Funcs are the function pointer members that point at a program.
	Funcs []StructOpsFunc
}

// StructOpsFunc is one function pointer member of a struct_ops variable.
type StructOpsFunc struct {
	Member  string
	Offset  uint32 // bytes into the variable
	Program string
}

// StructOpsUse is the member of a kernel struct a struct_ops program
// implements: the loader passes the struct's kernel BTF id as
// attach_btf_id and the member's index as expected_attach_type.
type StructOpsUse struct {
	Type   string
	Member string
}

// isStructOpsSection reports whether sec holds struct_ops variables:
// .struct_ops (registered by updating the map), .struct_ops.link
// (registered through a link) and their named variants.
func isStructOpsSection(sec *elf.Section) bool {
	return sec.Name == ".struct_ops" || sec.Name == ".struct_ops.link" ||
		strings.HasPrefix(sec.Name, ".struct_ops.")
}

// collectStructOps makes a struct_ops map of each variable of a
// struct_ops section. Without BTF nothing says which kernel struct the
// bytes are, so each map carries the error instead.
func (l *linker) collectStructOps(sec *elf.Section) error {
	flags := uint32(0)
	if sec.Name == ".struct_ops.link" || strings.HasPrefix(sec.Name, ".struct_ops.link.") {
		flags = uapi.FlagLink
	}
	ds, found, _ := l.datasec(sec.Name, true)
	if !found {
		for _, sym := range l.symbolsIn(sec) {
			l.addStructOpsMap(&MapSpec{Name: sym.Name, Section: sec.Name, Source: MapStructOps, Type: uapi.MapTypeStructOps,
				KeySize: 4, MaxEntries: 1, Flags: flags,
				Err: fmt.Errorf("section %s: struct_ops variable %s has no BTF type: %w", sec.Name, sym.Name, ErrUnsupported)})
		}
		return nil
	}
	first := len(l.obj.Maps)
	for _, v := range ds.Vars {
		variable, ok := v.Type.(*btf.Var)
		if !ok {
			continue
		}
		m := &MapSpec{Name: variable.Name, Section: sec.Name, Source: MapStructOps, Type: uapi.MapTypeStructOps,
			KeySize: 4, MaxEntries: 1, Flags: flags}
		st, ok := btf.UnderlyingType(variable.Type).(*btf.Struct)
		end := uint64(v.Offset) + uint64(v.Size)
		switch {
		case !ok:
			m.Err = fmt.Errorf("section %s: struct_ops variable %s is a %s, not a struct: %w", sec.Name, variable.Name, variable.Type, ErrMalformed)
		case v.Size != st.Size || end > uint64(len(sec.Data)):
			m.Err = fmt.Errorf("section %s: struct_ops variable %s: %d bytes at %d in a section of %d: %w", sec.Name, variable.Name, v.Size, v.Offset, len(sec.Data), ErrMalformed)
		default:
			m.ValueSize = st.Size
			m.value = typeRef{typ: st}
			m.Contents = sec.Data[v.Offset:end]
			m.StructOps = &StructOps{Type: st}
			m.structOpsOffset = uint64(v.Offset)
		}
		l.addStructOpsMap(m)
	}
	return l.collectStructOpsFuncs(sec, l.obj.Maps[first:])
}

func (l *linker) addStructOpsMap(m *MapSpec) {
	l.obj.Maps = append(l.obj.Maps, m)
}

// collectStructOpsFuncs reads the relocations of a struct_ops section:
// each sets a function pointer member of one variable to a program.
func (l *linker) collectStructOpsFuncs(sec *elf.Section, maps []*MapSpec) error {
	rels, err := l.file.RelocationsFor(sec)
	if err != nil {
		return err
	}
	for _, rel := range rels {
		m := structOpsMapAt(maps, rel.Offset)
		if m == nil {
			return fmt.Errorf("section %s: relocation at %#x is outside every struct_ops variable: %w", sec.Name, rel.Offset, ErrMalformed)
		}
		off := rel.Offset - m.structOpsOffset
		member, ok := pointerMemberAt(m.StructOps.Type, off)
		if !ok {
			m.Err = fmt.Errorf("section %s: struct_ops %s: relocation at %d bytes is not a function pointer member: %w", sec.Name, m.Name, off, ErrMalformed)
			continue
		}
		sym := l.file.Symbols[rel.Symbol]
		if sym.Type != elf.STT_FUNC || int(sym.Section) >= len(l.file.Sections) || !l.file.Sections[sym.Section].Executable() {
			m.Err = fmt.Errorf("section %s: struct_ops %s: member %s points at %q, not a program: %w", sec.Name, m.Name, member, sym.Name, ErrMalformed)
			continue
		}
		m.StructOps.Funcs = append(m.StructOps.Funcs, StructOpsFunc{Member: member, Offset: uint32(off), Program: sym.Name})
	}
	return nil
}

func structOpsMapAt(maps []*MapSpec, off uint64) *MapSpec {
	for _, m := range maps {
		if m.StructOps != nil && off >= m.structOpsOffset && off < m.structOpsOffset+uint64(m.StructOps.Type.Size) {
			return m
		}
	}
	return nil
}

// pointerMemberAt names the pointer member of st at off bytes.
func pointerMemberAt(st *btf.Struct, off uint64) (string, bool) {
	for _, m := range st.Members {
		if uint64(m.Offset.Bytes()) != off || m.Offset%8 != 0 {
			continue
		}
		if _, ok := btf.UnderlyingType(m.Type).(*btf.Pointer); ok && m.Name != "" {
			return m.Name, true
		}
	}
	return "", false
}

// assignStructOps tells each struct_ops program which kernel struct
// member it implements. A program that two maps use for different
// members cannot be loaded once for both, as libbpf also refuses.
func (l *linker) assignStructOps() error {
	for _, m := range l.obj.Maps {
		if m.StructOps == nil || m.Err != nil {
			continue
		}
		for _, f := range m.StructOps.Funcs {
			p := l.obj.Program(f.Program)
			if p == nil {
				return fmt.Errorf("struct_ops %s: member %s: no program %s: %w", m.Name, f.Member, f.Program, ErrMalformed)
			}
			if p.Kind.Type != uapi.ProgTypeStructOps {
				m.Err = fmt.Errorf("struct_ops %s: member %s: program %s is in section %s, not struct_ops/: %w", m.Name, f.Member, p.Name, p.Section, ErrMalformed)
				continue
			}
			use := StructOpsUse{Type: m.StructOps.Type.Name, Member: f.Member}
			switch {
			case p.StructOps == nil:
				p.StructOps = &use
			case *p.StructOps != use && p.Err == nil:
				p.Err = fmt.Errorf("program %s implements both %s.%s and %s.%s; the kernel loads a struct_ops program for one member: %w",
					p.Name, p.StructOps.Type, p.StructOps.Member, use.Type, use.Member, ErrUnsupported)
			}
		}
	}
	return nil
}
