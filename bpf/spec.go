package bpf

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/cilium/ebpf/btf"

	"github.com/rawload/rawload/reloc"
)

// Spec describes what an object file holds, read without a kernel: no fd,
// no syscall, no kernel BTF. It works for objects of either byte order
// and on machines where bpf(2) is not permitted. Everything in it is a
// copy: changing it changes nothing else.
type Spec struct {
	ByteOrder   binary.ByteOrder
	License     string
	KernVersion uint32
	Programs    []ProgramSpec
	Maps        []MapSpec
	Variables   []VariableSpec
}

// ProgramSpec describes a program of an object.
type ProgramSpec struct {
	Name    string
	Section string
	// Type, AttachType and Flags are what the section name gives
	// BPF_PROG_LOAD; Flags are prog_flags such as BPF_F_SLEEPABLE.
	Type       ProgramType
	AttachType AttachType
	Flags      uint32
	// Convention is the SEC() convention the section matched, e.g.
	// "raw_tp" or "cgroup/connect4"; AttachTo is what follows it, the
	// tracepoint, function or hook the program attaches to.
	Convention string
	AttachTo   string
	// Autoload is false for a section starting with '?' (libbpf's
	// SEC("?kprobe/...")): such a program starts LoadDisabled.
	Autoload bool
	// Insns is the number of 8-byte instruction slots, subprograms
	// included.
	Insns int
	// Maps names the maps the program refers to, in the order of
	// Spec.Maps.
	Maps []string
	// CORERelocations is the number of CO-RE relocations, applied at Open
	// against the running kernel's BTF.
	CORERelocations int
	// Externs are the kernel symbols the program refers to, each once.
	Externs []ExternSpec
	// Err is why the program cannot be loaded whatever the kernel, known
	// from the object alone: an unknown section, or a feature rawload does
	// not support. nil otherwise.
	Err error
}

// ExternSpec is a kernel symbol a program refers to.
type ExternSpec struct {
	Name string
	// Kind is how it is used: "ksym" (an address from kallsyms), "typed
	// ksym" (a kernel variable by BTF id), "kfunc call", "kfunc address".
	Kind string
	// Weak externs resolve to zero where the kernel lacks them.
	Weak bool
}

// MapSpec describes a map of an object.
type MapSpec struct {
	Name string
	// Section is the ELF section of its definition or contents.
	Section    string
	Source     MapSource
	Type       MapType
	KeySize    uint32
	ValueSize  uint32
	MaxEntries uint32
	Flags      uint32
	MapExtra   uint64
	NumaNode   uint32
	Pinning    Pinning
	// KeyType and ValueType name the BTF types of key and value, empty
	// when the object gives none.
	KeyType, ValueType string
	// Inner is the template of the inner maps of a map of maps, nil for
	// other maps.
	Inner *MapSpec
	// StructOps are the function pointer members of a struct_ops map
	// (Source SourceStructOps) and the programs they point at; its
	// ValueType names the kernel struct it implements.
	StructOps []StructOpsFunc
	// Err is why the map cannot be created whatever the kernel, known
	// from the object alone. nil otherwise.
	Err error
}

// StructOpsFunc is a function pointer member of a struct_ops map.
type StructOpsFunc struct {
	Member  string
	Program string
}

// VariableSpec describes a global variable of .data, .rodata, .bss or a
// named variant.
type VariableSpec struct {
	Name    string
	Section string
	Offset  uint64
	Size    uint64
	// Type names the variable's BTF type, empty without BTF.
	Type string
}

// ReadSpec reads the object file at path and describes it.
func ReadSpec(path string) (*Spec, error) {
	data, err := readObjectFile(path)
	if err != nil {
		return nil, err
	}
	spec, err := ParseSpec(data)
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", path, err)
	}
	return spec, nil
}

// ParseSpec describes an object file held in memory. It keeps no
// reference to data.
func ParseSpec(data []byte) (*Spec, error) {
	obj, err := reloc.Link(data, nil)
	if err != nil {
		return nil, err
	}
	return newSpec(obj), nil
}

// Program returns the description of the program of that name, or nil.
func (s *Spec) Program(name string) *ProgramSpec {
	for i := range s.Programs {
		if s.Programs[i].Name == name {
			return &s.Programs[i]
		}
	}
	return nil
}

// Map returns the description of the map of that name, or nil.
func (s *Spec) Map(name string) *MapSpec {
	for i := range s.Maps {
		if s.Maps[i].Name == name {
			return &s.Maps[i]
		}
	}
	return nil
}

func newSpec(obj *reloc.Object) *Spec {
	s := &Spec{
		ByteOrder:   obj.ByteOrder,
		License:     obj.License,
		KernVersion: obj.KernVersion,
		Programs:    make([]ProgramSpec, 0, len(obj.Programs)),
		Maps:        make([]MapSpec, 0, len(obj.Maps)),
		Variables:   make([]VariableSpec, 0, len(obj.Variables)),
	}
	for _, p := range obj.Programs {
		s.Programs = append(s.Programs, programSpec(obj, p))
	}
	for _, m := range obj.Maps {
		s.Maps = append(s.Maps, mapSpec(m))
	}
	for _, v := range obj.Variables {
		s.Variables = append(s.Variables, VariableSpec{
			Name:    v.Name,
			Section: v.Section,
			Offset:  v.Offset,
			Size:    v.Size,
			Type:    btfTypeName(v.Type()),
		})
	}
	return s
}

func programSpec(obj *reloc.Object, p *reloc.Program) ProgramSpec {
	ps := ProgramSpec{
		Name:            p.Name,
		Section:         p.Section,
		Type:            ProgramType(p.Kind.Type),
		AttachType:      AttachType(p.Kind.ExpectedAttachType),
		Flags:           p.Kind.Flags,
		Convention:      p.Kind.Convention,
		AttachTo:        p.Kind.AttachTo,
		Autoload:        !p.Kind.NoAutoload,
		Insns:           p.InsnCount(),
		Maps:            make([]string, 0, len(p.Maps)),
		CORERelocations: p.CORE,
		Externs:         []ExternSpec{},
		Err:             p.Err,
	}
	for _, i := range p.Maps {
		ps.Maps = append(ps.Maps, obj.Maps[i].Name)
	}
	for _, ext := range p.Externs {
		seen := slices.ContainsFunc(ps.Externs, func(e ExternSpec) bool { return e.Name == ext.Name })
		if !seen {
			ps.Externs = append(ps.Externs, ExternSpec{Name: ext.Name, Kind: ext.Kind.String(), Weak: ext.Weak})
		}
	}
	return ps
}

func mapSpec(m *reloc.MapSpec) MapSpec {
	ms := MapSpec{
		Name:       m.Name,
		Section:    m.Section,
		Source:     mapSource(m.Source),
		Type:       MapType(m.Type),
		KeySize:    m.KeySize,
		ValueSize:  m.ValueSize,
		MaxEntries: m.MaxEntries,
		Flags:      m.Flags,
		MapExtra:   m.MapExtra,
		NumaNode:   m.NumaNode,
		Pinning:    Pinning(m.Pinning),
		KeyType:    btfTypeName(m.KeyType()),
		ValueType:  btfTypeName(m.ValueType()),
		Err:        m.Err,
	}
	if m.Inner != nil {
		inner := mapSpec(m.Inner)
		ms.Inner = &inner
	}
	if m.StructOps != nil {
		for _, f := range m.StructOps.Funcs {
			ms.StructOps = append(ms.StructOps, StructOpsFunc{Member: f.Member, Program: f.Program})
		}
	}
	return ms
}

func mapSource(s reloc.MapSource) MapSource {
	switch s {
	case reloc.MapLegacy:
		return SourceLegacy
	case reloc.MapGlobalData:
		return SourceGlobalData
	case reloc.MapKconfig:
		return SourceKconfig
	case reloc.MapStructOps:
		return SourceStructOps
	}
	return SourceBTF
}

// btfTypeName names a type as C would declare it, without its members:
// "struct event", "__u32", "char[16]", "const char *"; empty for nil.
func btfTypeName(typ btf.Type) string {
	if typ == nil {
		return ""
	}
	return cTypeName(typ, 0)
}

// maxTypeNameDepth bounds the qualifiers, pointers and arrays a name
// follows: BTF from an object is input, and may be a cycle.
const maxTypeNameDepth = 16

func cTypeName(typ btf.Type, depth int) string {
	if depth > maxTypeNameDepth {
		return "..."
	}
	depth++
	switch t := typ.(type) {
	case *btf.Void:
		return "void"
	case *btf.Struct:
		return tagged("struct", t.Name)
	case *btf.Union:
		return tagged("union", t.Name)
	case *btf.Enum:
		return tagged("enum", t.Name)
	case *btf.Fwd:
		return tagged(t.Kind.String(), t.Name)
	case *btf.Pointer:
		return cTypeName(t.Target, depth) + " *"
	case *btf.Array:
		return fmt.Sprintf("%s[%d]", cTypeName(t.Type, depth), t.Nelems)
	case *btf.Const:
		return "const " + cTypeName(t.Type, depth)
	case *btf.Volatile:
		return "volatile " + cTypeName(t.Type, depth)
	case *btf.Restrict:
		return cTypeName(t.Type, depth)
	case *btf.TypeTag:
		return cTypeName(t.Type, depth)
	case *btf.Var:
		return cTypeName(t.Type, depth)
	}
	if name := typ.TypeName(); name != "" {
		return name
	}
	return fmt.Sprintf("%T", typ)
}

func tagged(kind, name string) string {
	if name == "" {
		return kind + " {...}"
	}
	return kind + " " + name
}
