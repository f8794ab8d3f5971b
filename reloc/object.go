package reloc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cilium/ebpf/btf"

	"github.com/rawload/rawload/elf"
)

// Object is everything rawload needs from an object file to create its maps
// and load its programs.
type Object struct {
	ByteOrder   binary.ByteOrder
	License     string
	KernVersion uint32
	Maps        []*MapSpec
	Programs    []*Program
	Variables   []*Variable
	// BTF is the object's BTF in kernel wire format, to be loaded once and
	// passed with every program; nil when the object has none.
	BTF []byte
	// btfPassed says BTF is the object's own .BTF, passed through.
	btfPassed bool
	// coreTypesExtracted says the CO-RE relocations were computed from
	// their local types alone, copied out of that BTF (coreLocal).
	coreTypesExtracted bool
}

// LinkOptions tune Link. The zero value links without a target BTF.
type LinkOptions struct {
	// TargetBTF returns the BTF CO-RE relocations are computed against,
	// normally the running kernel's. It is called at most once, and only
	// for an object that has CO-RE relocations. Without it, CO-RE
	// relocations are left unapplied and counted in Program.CORE.
	TargetBTF func() (*btf.Spec, error)
	// CORETarget, when set, is used instead of TargetBTF for an object
	// whose CO-RE relocations need no target type id: it gets the names
	// of their local types and returns BTF holding at least every target
	// type those can match, with all they refer to.
	CORETarget func(names []string) (*btf.Spec, error)
	// MarshalBTF encodes Object.BTF for the kernel it will be loaded
	// into (dropping what an older kernel refuses); nil means native byte
	// order and every BTF kind kept.
	MarshalBTF *btf.MarshalOptions
}

// Link reads an object file and links its programs. opts may be nil.
func Link(data []byte, opts *LinkOptions) (*Object, error) {
	f, err := elf.Parse(data)
	if err != nil {
		return nil, err
	}
	return LinkFile(f, data, opts)
}

// LinkFile links an object file that elf.Parse read from data, for
// callers that time or inspect the parse on its own.
func LinkFile(f *elf.File, data []byte, opts *LinkOptions) (*Object, error) {
	l := &linker{file: f, obj: &Object{ByteOrder: f.ByteOrder}, inputSize: len(data), kconfigMap: -1}
	if opts != nil {
		l.opts = *opts
	}
	if err := l.loadBTF(data); err != nil {
		return nil, err
	}
	steps := []func() error{
		l.readLicense,
		l.readVersion,
		l.collectMaps,
		l.collectFunctions,
		l.resolveRelocations,
		l.linkPrograms,
		l.assignStructOps,
		l.marshalBTF,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return l.obj, nil
}

// linker holds what Link needs between its steps.
type linker struct {
	opts LinkOptions
	file *elf.File
	obj  *Object
	spec *btf.Spec
	ext  *btf.ExtInfos
	// pass is set when the object's BTF goes to the kernel as it is.
	pass *passBTF
	// coreLocal holds, for such an object with CO-RE relocations, the
	// local types they read (spec then stays nil).
	coreLocal *coreLocal
	builder   *btf.Builder
	target    *targetBTF
	// kconfig maps .kconfig variables to their offsets in kconfigMap,
	// the index of the .kconfig map or -1.
	kconfig    map[string]uint32
	kconfigMap int
	// globalData is the size of the global data maps so far.
	globalData uint64
	// weak says, for each undefined symbol's name, whether the first
	// such symbol is weak.
	weak map[string]bool
	// inputSize is the length of the object file.
	inputSize int

	// maps by the location of their definition or contents
	mapAt     map[mapLocation]int
	mapDefs   []mapDef
	dataMapOf map[int]int // global data section index -> map index
	funcs     map[funcKey]*function
	// funcsBySection lists each executable section's functions by offset.
	funcsBySection map[int][]*function
	// symbolsBySection lists each section's symbols; see sectionSymbols.
	symbolsBySection [][]elf.Symbol
}

type mapLocation struct {
	section int
	offset  uint64
}

// fullBTFPath makes every object take the full BTF path; tests compare
// the two.
var fullBTFPath = false

func (l *linker) loadBTF(data []byte) error {
	sec := l.file.Section(".BTF")
	if sec == nil {
		return nil
	}
	p := l.newPassBTF(sec.Data)
	if p != nil && !fullBTFPath {
		l.pass = p
		if !p.core || l.loadCORELocal(sec.Data) {
			return nil
		}
	}
	spec, ext, err := btf.LoadSpecAndExtInfosFromReader(bytes.NewReader(data))
	if err != nil {
		l.pass = nil
		return fmt.Errorf("section .BTF: %w", err)
	}
	l.spec, l.ext = spec, ext
	if l.pass != nil {
		l.pass.lazy.decoded(spec)
	}
	return nil
}

func (l *linker) readLicense() error {
	sec := l.file.Section("license")
	if sec == nil {
		return nil
	}
	l.obj.License = cString(sec.Data)
	return nil
}

func (l *linker) readVersion() error {
	sec := l.file.Section("version")
	if sec == nil {
		return nil
	}
	if len(sec.Data) != 4 {
		return fmt.Errorf("section version: size %d, want 4: %w", len(sec.Data), ErrMalformed)
	}
	l.obj.KernVersion = l.file.ByteOrder.Uint32(sec.Data)
	return nil
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// Program returns the program of that name, or nil.
func (o *Object) Program(name string) *Program {
	for _, p := range o.Programs {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Map returns the map of that name, or nil.
func (o *Object) Map(name string) *MapSpec {
	for _, m := range o.Maps {
		if m.Name == name {
			return m
		}
	}
	return nil
}

var errNoBTF = errors.New("object has no BTF")
