// Package gen writes typed Go bindings for a BPF object, as cilium/ebpf's
// bpf2go does, for rawload: one Go file that embeds the object, opens it
// with bpf.OpenBytes, and holds each program, map and global variable in
// a field, with Go types for the C types of map keys and values, globals
// and the types asked for, laid out exactly as the object's BTF lays out
// the C ones (padding spelt out, bitfields behind accessors).
//
// The output is gofmt-formatted as written: this package uses neither
// go/format nor text/template, to keep the rawload binary small.
package gen

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/cilium/ebpf/btf"

	"github.com/rawload/rawload/bpf"
)

// Options say what to generate.
type Options struct {
	// Package is the Go package of the file.
	Package string
	// Name starts every identifier the file declares: Load<Name>,
	// <Name>Objects, <Name>Event. Empty means the object file's base
	// name in Go style ("gen.o" gives Gen).
	Name string
	// ObjectFile is the object's path relative to the Go file, for
	// //go:embed.
	ObjectFile string
	// Types names further C types to declare: "event", "struct event",
	// "union u", "enum kind", "pid_t".
	Types []string
	// Command is the command line the header records.
	Command string
}

// Map types whose elements are a key and a value, read and written as
// such: hash, array, LRU hash, LPM trie.
var typedMapTypes = []bpf.MapType{1, 2, 9, 11}

// generator holds what Generate learns before it writes.
type generator struct {
	opts   Options
	prefix string
	spec   *bpf.Spec
	btf    *btf.Spec // nil for an object without BTF
	ns     namespace // the file's identifiers
	named  map[string]*decl
	anon   map[btf.Type]*decl
	decls  []*decl
	fields []objectField
	// helper names
	load, objects, data, bytesFn, getBits, setBits string
	bigEndian                                      bool
}

// objectField is a field of the Objects struct.
type objectField struct {
	name, cName string
	kind        string // "program", "map", "variable"
	// wrapper is the typed wrapper's name, empty for a plain
	// *bpf.Map or *bpf.Variable.
	wrapper    string
	key, value string
}

// Generate returns the Go source of the bindings of the object in data.
func Generate(data []byte, opts Options) ([]byte, error) {
	g, err := newGenerator(data, opts)
	if err != nil {
		return nil, err
	}
	return g.write(), nil
}

func newGenerator(data []byte, opts Options) (*generator, error) {
	if opts.Package == "" || opts.ObjectFile == "" {
		return nil, errors.New("gen: Options.Package and Options.ObjectFile are required")
	}
	if !isPackageName(opts.Package) {
		return nil, fmt.Errorf("gen: package name %q is not a Go identifier", opts.Package)
	}
	obj := path.Base(opts.ObjectFile)
	if opts.Name == "" {
		opts.Name = goName(strings.TrimSuffix(obj, path.Ext(obj)))
	}
	opts.Name = goName(opts.Name)
	spec, err := bpf.ParseSpec(data)
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", obj, err)
	}
	g := &generator{
		opts: opts, prefix: opts.Name, spec: spec, ns: namespace{},
		named: map[string]*decl{}, anon: map[btf.Type]*decl{},
		bigEndian: spec.ByteOrder == binary.BigEndian,
	}
	g.btf, err = btf.LoadSpecFromReader(bytes.NewReader(data))
	if errors.Is(err, btf.ErrNotFound) {
		g.btf, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("object %s: BTF: %w", obj, err)
	}
	l := lowerFirst(g.prefix)
	g.load = g.ns.claim("Load" + g.prefix)
	g.objects = g.ns.claim(g.prefix + "Objects")
	g.data = g.ns.claim(l + "Object")
	g.bytesFn = g.ns.claim(l + "Bytes")
	g.getBits = g.ns.claim(l + "GetBits")
	g.setBits = g.ns.claim(l + "SetBits")
	if err := g.objectFields(); err != nil {
		return nil, fmt.Errorf("object %s: %w", obj, err)
	}
	for _, name := range opts.Types {
		if err := g.namedType(name); err != nil {
			return nil, fmt.Errorf("object %s: --type %s: %w", obj, name, err)
		}
	}
	return g, nil
}

// objectMethods are the methods of *bpf.Object, promoted into the
// Objects struct: no field may hide one.
var objectMethods = []string{"Object", "Assign", "Close", "Load", "LoadEach", "Map", "Maps", "Name",
	"Program", "Programs", "Spec", "Stats", "Variable"}

// objectFields names the Objects fields and declares the types of the
// typed maps and variables.
func (g *generator) objectFields() error {
	fields := namespace{}
	fields.reserve(objectMethods...)
	for _, p := range g.spec.Programs {
		g.fields = append(g.fields, objectField{name: fields.claim(goName(p.Name), "Prog"), cName: p.Name, kind: "program"})
	}
	for _, m := range g.spec.Maps {
		f := objectField{name: fields.claim(goName(m.Name), "Map"), cName: m.Name, kind: "map"}
		key, value := g.mapTypes(m.Name)
		if key != nil && value != nil && isTypedMap(m.Type) {
			k, ksize, _, kerr := g.goType(key, g.prefix+goName(m.Name)+"Key", 0)
			v, vsize, _, verr := g.goType(value, g.prefix+goName(m.Name)+"Value", 0)
			if err := errors.Join(kerr, verr); err != nil {
				return fmt.Errorf("map %s: %w", m.Name, err)
			}
			if ksize == m.KeySize && vsize == m.ValueSize {
				f.wrapper, f.key, f.value = g.ns.claim(g.prefix+goName(m.Name)+"Map", "Type"), k, v
			}
		}
		g.fields = append(g.fields, f)
	}
	for _, v := range g.spec.Variables {
		f := objectField{name: fields.claim(goName(v.Name), "Var"), cName: v.Name, kind: "variable"}
		if t := g.varType(v); t != nil {
			typ, size, _, err := g.goType(t, g.prefix+goName(v.Name), 0)
			if err != nil {
				return fmt.Errorf("variable %s: %w", v.Name, err)
			}
			if uint64(size) == v.Size {
				f.wrapper, f.value = g.ns.claim(g.prefix+goName(v.Name)+"Var", "Type"), typ
			}
		}
		g.fields = append(g.fields, f)
	}
	return nil
}

func isTypedMap(t bpf.MapType) bool {
	for _, typ := range typedMapTypes {
		if t == typ {
			return true
		}
	}
	return false
}

// mapTypes finds the key and value types of a BTF-defined map: the
// targets of the key and value pointers of its definition in .maps.
func (g *generator) mapTypes(name string) (key, value btf.Type) {
	def, ok := g.datasecVar(".maps", name, 0, false)
	if !ok {
		return nil, nil
	}
	s, ok := btf.UnderlyingType(def).(*btf.Struct)
	if !ok {
		return nil, nil
	}
	for _, m := range s.Members {
		if p, ok := m.Type.(*btf.Pointer); ok {
			switch m.Name {
			case "key":
				key = p.Target
			case "value":
				value = p.Target
			}
		}
	}
	return key, value
}

// varType finds a global variable's type in the DATASEC of its section.
func (g *generator) varType(v bpf.VariableSpec) btf.Type {
	t, _ := g.datasecVar(v.Section, v.Name, v.Offset, true)
	return t
}

// datasecVar returns the type of the variable name of DATASEC sec, at
// offset off when atOffset.
func (g *generator) datasecVar(sec, name string, off uint64, atOffset bool) (btf.Type, bool) {
	if g.btf == nil {
		return nil, false
	}
	var ds *btf.Datasec
	if err := g.btf.TypeByName(sec, &ds); err != nil {
		return nil, false
	}
	for _, vs := range ds.Vars {
		if v, ok := vs.Type.(*btf.Var); ok && v.Name == name && (!atOffset || uint64(vs.Offset) == off) {
			return v.Type, true
		}
	}
	return nil, false
}

// namedType declares a type named by Options.Types.
func (g *generator) namedType(name string) error {
	if g.btf == nil {
		return errors.New("the object has no BTF")
	}
	kind, bare, tagged := strings.Cut(name, " ")
	if !tagged {
		kind, bare = "", name
	}
	types, _ := g.btf.AnyTypesByName(bare)
	var found []btf.Type
	for _, t := range types {
		if t.TypeName() != bare {
			// A CO-RE flavor, task_struct___old for task_struct, that
			// the lookup may let through.
			continue
		}
		switch t.(type) {
		case *btf.Struct:
			if kind == "" || kind == "struct" {
				found = append(found, t)
			}
		case *btf.Union:
			if kind == "" || kind == "union" {
				found = append(found, t)
			}
		case *btf.Enum:
			if kind == "" || kind == "enum" {
				found = append(found, t)
			}
		case *btf.Typedef:
			if kind == "" {
				found = append(found, t)
			}
		}
	}
	switch {
	case len(found) == 0:
		return errors.New("no struct, union, enum or typedef of that name in the object's BTF")
	case len(found) > 1:
		var names []string
		for _, t := range found {
			names = append(names, cName(t, ""))
		}
		return fmt.Errorf("ambiguous: %s; say which", strings.Join(names, ", "))
	}
	t := found[0]
	if td, ok := t.(*btf.Typedef); ok {
		switch btf.QualifiedType(td.Type).(type) {
		case *btf.Struct, *btf.Union, *btf.Enum:
		default:
			// A typedef of an integer or array asked for by name: an
			// alias, which goType would otherwise see through.
			_, err := g.declare(td, "", "", 0)
			return err
		}
	}
	_, _, _, err := g.goType(t, g.prefix+goName(bare), 0)
	return err
}
