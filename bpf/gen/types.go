package gen

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// maxDepth bounds how deep types nest: BTF is input, and may be a cycle.
const maxDepth = 32

// declKind says what Go declaration a decl becomes.
type declKind int

const (
	structDecl declKind = iota // a struct (C struct or union)
	enumDecl                   // a defined integer type with constants
	aliasDecl                  // type X = Y
)

// decl is one Go type declaration made from a BTF type.
type decl struct {
	kind  declKind
	name  string   // Go name
	cName string   // "struct event", "union u", "enum e", "pid_t"
	typ   btf.Type // the BTF struct, union, enum or typedef
	size  uint32
	align uint32 // Go alignment
	// structDecl
	fields []*field
	sel    namespace // its fields and methods
	// enumDecl: the underlying Go type and the constants
	base   string
	consts []enumConst
	// aliasDecl
	alias string
	// busy is set while the declaration is being made.
	busy bool
}

type enumConst struct{ name, value string }

// field is a Go struct field at a C offset: a member, padding (name
// "_"), or the storage of bitfields.
type field struct {
	name             string
	typ              string
	off, size, align uint32
	// cPath is the C member the field holds, "a" or "inner.a" through
	// anonymous members; empty for padding and bitfield storage.
	cPath string
	// bits are the bitfields stored in the field, which is then a byte
	// array.
	bits []bitfield
	// views are members of an anonymous union that share the field's
	// storage, reached through accessor methods.
	views []view
}

// bitfield is a C bitfield, read and written by accessor methods.
type bitfield struct {
	get, set, cName, typ string
	off, bits            uint32 // bits from the start of the storage field
	signed               bool
}

// view is an accessor returning a pointer to a union member.
type view struct {
	name, cName, typ string
	off              uint32 // from the start of the enclosing Go type
}

// goType returns the Go type of t, declaring the struct, union, enum and
// typedef types it needs; ctx names an anonymous type. It returns the Go
// size and alignment too.
func (g *generator) goType(t btf.Type, ctx string, depth int) (string, uint32, uint32, error) {
	if depth > maxDepth {
		return "", 0, 0, errors.New("types nest too deep")
	}
	switch t := t.(type) {
	case *btf.Const:
		return g.goType(t.Type, ctx, depth+1)
	case *btf.Volatile:
		return g.goType(t.Type, ctx, depth+1)
	case *btf.Restrict:
		return g.goType(t.Type, ctx, depth+1)
	case *btf.TypeTag:
		return g.goType(t.Type, ctx, depth+1)
	case *btf.Int:
		if t.Name == "char" || t.Encoding == btf.Char {
			return "byte", 1, 1, nil // for strings, whatever its sign
		}
		return intType(t.Size, t.Encoding == btf.Signed, t.Encoding == btf.Bool)
	case *btf.Float:
		switch t.Size {
		case 4:
			return "float32", 4, 4, nil
		case 8:
			return "float64", 8, 8, nil
		}
		return bytesType(t.Size), t.Size, 1, nil
	case *btf.Pointer:
		// A BPF pointer is 8 bytes; user space cannot follow it.
		return "uint64", 8, 8, nil
	case *btf.Array:
		elem, size, align, err := g.goType(t.Type, ctx, depth+1)
		if err != nil {
			return "", 0, 0, err
		}
		if uint64(size)*uint64(t.Nelems) > math.MaxUint32 {
			return "", 0, 0, fmt.Errorf("array of %d elements of %d bytes: too large", t.Nelems, size)
		}
		return "[" + strconv.FormatUint(uint64(t.Nelems), 10) + "]" + elem, size * t.Nelems, align, nil
	case *btf.Struct, *btf.Union, *btf.Enum:
		d, err := g.declare(t, "", ctx, depth)
		if err != nil {
			return "", 0, 0, err
		}
		return d.name, d.size, d.align, nil
	case *btf.Typedef:
		target := btf.QualifiedType(t.Type)
		switch target.(type) {
		case *btf.Struct, *btf.Union, *btf.Enum:
			if target.TypeName() == "" {
				// typedef struct {...} name_t: the struct takes the name.
				d, err := g.declare(target, t.Name, ctx, depth)
				if err != nil {
					return "", 0, 0, err
				}
				return d.name, d.size, d.align, nil
			}
			d, err := g.declare(t, "", ctx, depth)
			if err != nil {
				return "", 0, 0, err
			}
			return d.name, d.size, d.align, nil
		}
		// Integers, arrays and pointers: the Go type itself.
		return g.goType(t.Type, ctx, depth+1)
	}
	return "", 0, 0, fmt.Errorf("no Go type for %s", describe(t))
}

func intType(size uint32, signed, isBool bool) (string, uint32, uint32, error) {
	if isBool && size == 1 {
		return "bool", 1, 1, nil
	}
	name := "uint"
	if signed {
		name = "int"
	}
	switch size {
	case 1, 2, 4, 8:
		return name + strconv.Itoa(int(size)*8), size, size, nil
	}
	return bytesType(size), size, 1, nil
}

func bytesType(n uint32) string { return "[" + strconv.FormatUint(uint64(n), 10) + "]byte" }

// describe names a BTF type as C would, for errors.
func describe(t btf.Type) string {
	kind := strings.TrimPrefix(fmt.Sprintf("%T", t), "*btf.")
	if name := t.TypeName(); name != "" {
		return strings.ToLower(kind) + " " + name
	}
	return "anonymous " + strings.ToLower(kind)
}

// cName is how C spells a declared type: "struct event", "pid_t".
func cName(t btf.Type, typedef string) string {
	if typedef != "" {
		return typedef
	}
	name := t.TypeName()
	if name == "" {
		name = "{...}"
	}
	switch t.(type) {
	case *btf.Struct:
		return "struct " + name
	case *btf.Union:
		return "union " + name
	case *btf.Enum:
		return "enum " + name
	}
	return name
}

// declare returns the declaration of a struct, union, enum or typedef,
// making it on first use. Named types are the same declaration wherever
// they are met (by kind and name: one object's BTF has one of each);
// anonymous ones are named after typedef, or their place (ctx).
func (g *generator) declare(t btf.Type, typedef, ctx string, depth int) (*decl, error) {
	key := cName(t, typedef)
	var d *decl
	if t.TypeName() != "" || typedef != "" {
		d = g.named[key]
	} else {
		d = g.anon[t]
	}
	if d != nil {
		if d.busy {
			return nil, fmt.Errorf("%s contains itself", key)
		}
		return d, nil
	}
	name := ctx
	suffix := ""
	switch t.(type) {
	case *btf.Struct:
		suffix = "Struct"
	case *btf.Union:
		suffix = "Union"
	case *btf.Enum:
		suffix = "Enum"
	}
	if t.TypeName() != "" || typedef != "" {
		name = g.prefix + goName(key[strings.LastIndexByte(key, ' ')+1:])
	}
	d = &decl{name: g.ns.claim(name, suffix), cName: key, typ: t}
	if t.TypeName() != "" || typedef != "" {
		g.named[key] = d
	} else {
		g.anon[t] = d
	}
	g.decls = append(g.decls, d)
	d.busy = true
	defer func() { d.busy = false }()
	var err error
	switch t := t.(type) {
	case *btf.Struct:
		err = g.structDecl(d, t.Members, t.Size, false, depth)
	case *btf.Union:
		err = g.structDecl(d, t.Members, t.Size, true, depth)
	case *btf.Enum:
		err = g.enumDecl(d, t)
	case *btf.Typedef:
		d.kind = aliasDecl
		d.alias, d.size, d.align, err = g.goType(t.Type, name, depth+1)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return d, nil
}

func (g *generator) enumDecl(d *decl, e *btf.Enum) error {
	switch e.Size {
	case 1, 2, 4, 8:
	default:
		return fmt.Errorf("%d bytes: not the size of an integer", e.Size)
	}
	d.kind, d.size = enumDecl, e.Size
	d.base, _, d.align, _ = intType(e.Size, e.Signed, false)
	for _, v := range e.Values {
		value := strconv.FormatUint(v.Value, 10)
		if shift := 64 - 8*e.Size; e.Size < 8 && !e.Signed {
			value = strconv.FormatUint(v.Value<<shift>>shift, 10)
		} else if e.Signed {
			value = strconv.FormatInt(int64(v.Value<<shift)>>shift, 10)
		}
		d.consts = append(d.consts, enumConst{g.ns.claim(g.prefix+goName(v.Name), "Value"), value})
	}
	return nil
}

// layout builds the fields of one struct declaration in offset order.
type layout struct {
	g      *generator
	d      *decl
	fields []*field
	next   uint32 // the first byte no field covers yet
	depth  int
}

func (g *generator) structDecl(d *decl, members []btf.Member, size uint32, union bool, depth int) error {
	d.size, d.sel = size, namespace{}
	l := &layout{g: g, d: d, depth: depth + 1}
	var err error
	if union {
		err = l.union(members, 0, "")
	} else {
		err = l.members(members, 0, "")
	}
	if err != nil {
		return err
	}
	if err := l.padTo(size); err != nil {
		return err
	}
	d.fields = l.fields
	d.align = fitAlignment(d.fields, size)
	return nil
}

// padTo adds padding up to byte off.
func (l *layout) padTo(off uint32) error {
	if off < l.next {
		return fmt.Errorf("member at byte %d overlaps the one before, which ends at %d", off, l.next)
	}
	if off > l.next {
		l.fields = append(l.fields, &field{name: "_", typ: bytesType(off - l.next), off: l.next, size: off - l.next, align: 1})
		l.next = off
	}
	return nil
}

// add places a field at its offset.
func (l *layout) add(f *field) error {
	if err := l.padTo(f.off); err != nil {
		return fmt.Errorf("%s: %w", f.cPath, err)
	}
	l.fields = append(l.fields, f)
	l.next = f.off + f.size
	return nil
}

// members lays out the members of a struct at bit offset base; an
// anonymous struct member's members become fields of their own, an
// anonymous union member's the fields and accessors of union.
func (l *layout) members(members []btf.Member, base btf.Bits, path string) error {
	var run *field // the bitfield storage being filled
	for _, m := range members {
		off := base + m.Offset
		if m.BitfieldSize > 0 {
			if err := l.bitfield(&run, m, off, path); err != nil {
				return err
			}
			continue
		}
		run = nil
		if sz, err := btf.Sizeof(m.Type); err != nil {
			return fmt.Errorf("member %s%s: %w", path, m.Name, err)
		} else if sz == 0 {
			continue // a flexible array: nothing to lay out
		}
		if off%8 != 0 {
			return fmt.Errorf("member %s%s at bit %d, not a byte", path, m.Name, off)
		}
		if m.Name == "" {
			switch t := btf.QualifiedType(m.Type).(type) {
			case *btf.Struct:
				if err := l.members(t.Members, off, path); err != nil {
					return err
				}
				continue
			case *btf.Union:
				if err := l.union(t.Members, off, path); err != nil {
					return err
				}
				continue
			}
		}
		f, err := l.member(m, off, path)
		if err != nil {
			return err
		}
		if err := l.add(f); err != nil {
			return err
		}
	}
	return nil
}

// member makes the field of a named member.
func (l *layout) member(m btf.Member, off btf.Bits, path string) (*field, error) {
	name := goName(m.Name)
	typ, size, align, err := l.g.goType(m.Type, l.d.name+name, l.depth)
	if err != nil {
		return nil, fmt.Errorf("member %s%s: %w", path, m.Name, err)
	}
	return &field{name: l.d.sel.claim(name, "Field"), typ: typ, off: uint32(off / 8), size: size, align: align, cPath: path + m.Name}, nil
}

// union lays out a union at bit offset base: the member with the
// largest alignment (then size, then the first) is a field, so the Go
// type is aligned for every member, and each other member is an
// accessor returning a pointer into the same bytes. The members of an
// anonymous struct member are accessors of their own, as C reaches
// them; one of them is the field instead if its alignment is larger
// than every other member's, or if the union has no other member.
func (l *layout) union(members []btf.Member, base btf.Bits, path string) error {
	var fields, views []*field
	best := -1
	for i, m := range members {
		if m.BitfieldSize > 0 || (base+m.Offset)%8 != 0 {
			continue // reachable through the bytes only
		}
		if sz, err := btf.Sizeof(m.Type); err != nil || sz == 0 {
			continue
		}
		if s, ok := btf.QualifiedType(m.Type).(*btf.Struct); ok && m.Name == "" && flat(s.Members) {
			for _, inner := range s.Members {
				f, err := l.member(inner, base+m.Offset+inner.Offset, path)
				if err != nil {
					return err
				}
				views = append(views, f)
			}
			continue
		}
		anonymous := m.Name == ""
		if anonymous {
			m.Name = "anon" + strconv.Itoa(i)
		}
		f, err := l.member(m, base+m.Offset, path)
		if err != nil {
			return err
		}
		if anonymous {
			f.cPath = "" // C has no name for it
		}
		fields = append(fields, f)
		if best < 0 || f.align > fields[best].align || f.align == fields[best].align && f.size > fields[best].size {
			best = len(fields) - 1
		}
	}
	var chosen *field
	if best >= 0 {
		chosen = fields[best]
	}
	// A member of an anonymous struct, at whatever offset in the union,
	// holds the bytes if the Go type would be less aligned otherwise.
	for _, v := range views {
		if chosen == nil || v.align > chosen.align {
			chosen = v
		}
	}
	if chosen == nil {
		return nil
	}
	for _, f := range append(fields, views...) {
		if f != chosen {
			c := f.cPath
			if c == "" {
				c = "(anonymous)"
			}
			chosen.views = append(chosen.views, view{name: f.name, cName: c, typ: f.typ, off: f.off})
		}
	}
	return l.add(chosen)
}

// flat says whether every member is named, whole bytes and not empty:
// what an accessor can point at.
func flat(members []btf.Member) bool {
	for _, m := range members {
		if sz, err := btf.Sizeof(m.Type); m.Name == "" || m.BitfieldSize > 0 || m.Offset%8 != 0 || err != nil || sz == 0 {
			return false
		}
	}
	return true
}

// bitfield adds a bitfield member to the storage being filled, or starts
// a new one: a byte array covering the bitfields next to each other.
func (l *layout) bitfield(run **field, m btf.Member, off btf.Bits, path string) error {
	start, end := uint32(off/8), uint32((off+m.BitfieldSize+7)/8)
	r := *run
	if r == nil || start >= r.off+r.size && end-r.off > 8 {
		r = &field{name: l.d.sel.claim("Bitfields"), off: start, size: end - start, align: 1}
		if err := l.add(r); err != nil {
			return err
		}
		*run = r
	} else if end > r.off+r.size {
		r.size = end - r.off
		l.next = end
	}
	r.typ = bytesType(r.size)
	if m.Name == "" || m.BitfieldSize > 64 {
		// Unnamed padding; or wider than the uint64 the accessors
		// go through (an __int128 bitfield): only in the bytes.
		return nil
	}
	typ := "uint64"
	signed := false
	switch t := btf.UnderlyingType(m.Type).(type) {
	case *btf.Int:
		signed = t.Encoding == btf.Signed
		switch t.Size {
		case 1, 2, 4, 8:
			typ, _, _, _ = intType(t.Size, signed, false)
		default: // __int128: the bitfield fits 64 bits
			typ, _, _, _ = intType(8, signed, false)
		}
	case *btf.Enum:
		signed = t.Signed
		var err error
		if typ, _, _, err = l.g.goType(m.Type, l.d.name+goName(m.Name), l.depth); err != nil {
			return fmt.Errorf("member %s%s: %w", path, m.Name, err)
		}
	}
	name := goName(m.Name)
	r.bits = append(r.bits, bitfield{
		get: l.d.sel.claim(name, "Field"), set: l.d.sel.claim("Set" + name),
		cName: path + m.Name, typ: typ, signed: signed,
		off: uint32(off) - 8*r.off, bits: uint32(m.BitfieldSize),
	})
	return nil
}

// fitAlignment makes the Go layout the C one where C packs: a field whose
// Go alignment its offset (or the struct's size) does not respect
// becomes a byte array, so Go adds no padding of its own. It returns the
// struct's Go alignment.
func fitAlignment(fields []*field, size uint32) uint32 {
	for {
		align := uint32(1)
		for _, f := range fields {
			if f.off%f.align != 0 {
				demote(f)
			}
			align = max(align, f.align)
		}
		if size%align == 0 {
			return align
		}
		for _, f := range fields {
			if f.align == align {
				demote(f)
			}
		}
	}
}

func demote(f *field) {
	f.typ, f.align, f.views = bytesType(f.size), 1, nil
}
