package reloc

import (
	"fmt"

	"github.com/cilium/ebpf/btf"

	"github.com/rawload/rawload/elf"
	"github.com/rawload/rawload/internal/uapi"
)

// ExternKind says what an instruction referring to a kernel symbol needs
// from the running kernel.
type ExternKind int

const (
	// ExternKsymBTF is an ld_imm64 of a typed ksym: BPF_PSEUDO_BTF_ID with
	// the id of the kernel's variable.
	ExternKsymBTF ExternKind = iota
	// ExternKsymAddr is an ld_imm64 of an untyped (void) ksym: the
	// symbol's address from kallsyms.
	ExternKsymAddr
	// ExternKfuncAddr is an ld_imm64 of a kfunc, as bpf_ksym_exists emits:
	// BPF_PSEUDO_BTF_ID with the id of the kernel's function.
	ExternKfuncAddr
	// ExternKfuncCall is a call of a kfunc: BPF_PSEUDO_KFUNC_CALL with the
	// id of the kernel's function.
	ExternKfuncCall
)

func (k ExternKind) String() string {
	switch k {
	case ExternKsymBTF:
		return "typed ksym"
	case ExternKsymAddr:
		return "ksym"
	case ExternKfuncAddr:
		return "kfunc address"
	case ExternKfuncCall:
		return "kfunc call"
	}
	return "extern"
}

// Extern is an instruction that refers to a kernel symbol by name; the
// loader resolves it against the running kernel before the instructions
// become final. A weak extern that the kernel lacks resolves to zero (an
// ld_imm64) or to a call the verifier rejects only if it is reachable.
type Extern struct {
	Offset int // byte offset of the instruction in Program.Insns
	Kind   ExternKind
	Name   string
	Weak   bool
}

// KconfigVar is an extern variable of the .kconfig map: the loader fills
// its bytes from the kernel's configuration before creating the map.
type KconfigVar struct {
	Name   string
	Offset uint32
	Size   uint32
	Type   btf.Type
	Weak   bool
}

// collectKconfig turns the .kconfig datasec into a read-only global data
// map whose contents the loader computes. Its size counts against the
// object's global data like a section's, and each variable must lie
// inside it.
func (l *linker) collectKconfig() error {
	l.kconfigMap = -1
	if l.spec == nil {
		return nil
	}
	var ds *btf.Datasec
	if err := l.spec.TypeByName(".kconfig", &ds); err != nil {
		return nil
	}
	if err := l.reserveGlobalData(".kconfig", uint64(ds.Size)); err != nil {
		return err
	}
	m := &MapSpec{
		Name:       ".kconfig",
		Section:    ".kconfig",
		Source:     MapKconfig,
		Type:       uapi.MapTypeArray,
		KeySize:    4,
		ValueSize:  ds.Size,
		MaxEntries: 1,
		Flags:      uapi.FlagMmapable | uapi.FlagRdOnlyProg,
		Freeze:     true,
		value:      typeRef{typ: ds},
	}
	l.kconfig = make(map[string]uint32)
	for _, vsi := range ds.Vars {
		v, ok := vsi.Type.(*btf.Var)
		if !ok {
			return fmt.Errorf(".kconfig: %s is not a variable: %w", vsi.Type, ErrMalformed)
		}
		if uint64(vsi.Offset)+uint64(vsi.Size) > uint64(ds.Size) {
			return fmt.Errorf(".kconfig: variable %q: %d bytes at offset %d, outside the datasec's %d: %w",
				v.Name, vsi.Size, vsi.Offset, ds.Size, ErrMalformed)
		}
		m.Kconfig = append(m.Kconfig, KconfigVar{
			Name:   v.Name,
			Offset: vsi.Offset,
			Size:   vsi.Size,
			Type:   v.Type,
			Weak:   l.externWeak(v.Name),
		})
		if _, dup := l.kconfig[v.Name]; !dup {
			l.kconfig[v.Name] = vsi.Offset
		}
	}
	if ds.Size == 0 {
		return nil
	}
	l.kconfigMap = len(l.obj.Maps)
	l.obj.Maps = append(l.obj.Maps, m)
	return nil
}

// externWeak reports whether the first undefined symbol called name is
// weak.
func (l *linker) externWeak(name string) bool {
	if l.weak == nil {
		l.weak = make(map[string]bool)
		for _, sym := range l.file.Symbols {
			if _, seen := l.weak[sym.Name]; !seen && sym.Section == elf.SHN_UNDEF {
				l.weak[sym.Name] = sym.Bind == elf.STB_WEAK
			}
		}
	}
	return l.weak[name]
}

// classifyExtern decides what an instruction referring to an undefined
// symbol needs. ok is false for a symbol no BTF declares.
func (l *linker) classifyExtern(sym elf.Symbol, insn []byte) (relocation, bool, error) {
	if off, ok := l.kconfig[sym.Name]; ok {
		if insn[0] != opLoadImm64 {
			return relocation{}, true, fmt.Errorf("kconfig %q used by opcode %#x: %w", sym.Name, insn[0], ErrMalformed)
		}
		if l.kconfigMap < 0 {
			return relocation{}, true, fmt.Errorf("kconfig %q: the .kconfig datasec has size 0: %w", sym.Name, ErrMalformed)
		}
		addend := int64(int32(l.file.ByteOrder.Uint32(insn[4:])))
		at := int64(off) + addend
		if size := int64(l.obj.Maps[l.kconfigMap].ValueSize); at < 0 || at >= size {
			return relocation{}, true, fmt.Errorf("kconfig %q%+d: offset %d outside the %d bytes of .kconfig: %w", sym.Name, addend, at, size, ErrMalformed)
		}
		return relocation{kind: relocMapValue, mapIndex: l.kconfigMap, valueOffset: uint32(at)}, true, nil
	}
	isVar, isTyped, isFunc := l.btfExtern(sym.Name)
	ext := &Extern{Name: sym.Name, Weak: sym.Bind == elf.STB_WEAK}
	switch {
	case insn[0] == opLoadImm64 && isTyped:
		ext.Kind = ExternKsymBTF
	case insn[0] == opLoadImm64 && isVar:
		ext.Kind = ExternKsymAddr
	case insn[0] == opLoadImm64 && isFunc:
		ext.Kind = ExternKfuncAddr
	case insn[0] == opCall && isFunc:
		ext.Kind = ExternKfuncCall
	case isVar || isFunc:
		return relocation{}, true, fmt.Errorf("extern %q used by opcode %#x: %w", sym.Name, insn[0], ErrUnsupported)
	default:
		return relocation{}, false, nil
	}
	return relocation{kind: relocExtern, extern: ext}, true, nil
}

// btfExtern reports whether the object's BTF declares name as an extern
// variable, typed (anything but void, const void included), or function.
//
// It reads the variable itself, never the .ksyms datasec holding it:
// cilium/ebpf's reader refuses that datasec when any of its variables is
// typed or const void, which is what every real object declares.
func (l *linker) btfExtern(name string) (isVar, isTyped, isFunc bool) {
	if l.spec == nil {
		return false, false, false
	}
	types, err := l.spec.AnyTypesByName(name)
	if err != nil {
		return false, false, false
	}
	for _, typ := range types {
		switch t := typ.(type) {
		case *btf.Var:
			if t.Linkage != btf.ExternVar {
				continue
			}
			isVar = true
			if _, void := btf.UnderlyingType(t.Type).(*btf.Void); !void {
				isTyped = true
			}
		case *btf.Func:
			isFunc = isFunc || t.Linkage == btf.ExternFunc
		}
	}
	return isVar, isTyped, isFunc
}
