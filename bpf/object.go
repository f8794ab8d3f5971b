package bpf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/elf"
	"github.com/rawload/rawload/fdtable"
	"github.com/rawload/rawload/internal/kernel"
	"github.com/rawload/rawload/ldimm64"
	"github.com/rawload/rawload/reloc"
)

// Object is an opened object file: its maps, each in a reserved fd slot,
// and its programs, whose instructions are final.
type Object struct {
	name  string
	opts  Options
	spec  *reloc.Object
	table *fdtable.Table

	programs []*Program
	maps     []*Map
	vars     map[string]*reloc.Variable
	// license is the object's license NUL-terminated, built once so
	// that no load copies it.
	license string

	// env is the kernel environment externs and attach targets are
	// resolved in; moduleFDs holds the module BTF fds they need, opened
	// at Open and closed with the Object.
	env       *kernel.Env
	moduleFDs *kernel.ModuleFDs

	// mu guards the lifecycle: which maps are live and who uses them,
	// whether Object.Load ran, the object BTF fd, and closing.
	mu     sync.Mutex
	loaded bool
	// loadFailed says the last Object.Load failed and undid itself: it
	// may be called again.
	loadFailed bool
	// standalone marks the private Object of a map made by NewMap or
	// LoadPinnedMap.
	standalone bool
	closed     bool
	btf        objectBTF
	stats      Stats
}

// Open reads, links and prepares the object file at path.
func Open(path string, opts *Options) (*Object, error) {
	buf, _ := fileBuffers.Get().(*[]byte)
	if buf == nil {
		buf = new([]byte)
	}
	data, whole, err := readObjectFileInto(path, *buf)
	if err != nil {
		fileBuffers.Put(buf)
		return nil, err
	}
	obj, err := openBytes(filepath.Base(path), data, opts)
	if whole != nil && cap(whole) <= sparseMin {
		// Read into buf, or into a new buffer buf was too small for:
		// either is free again, openBytes keeping none of it.
		*buf = whole
	}
	fileBuffers.Put(buf)
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", path, err)
	}
	return obj, nil
}

// OpenBytes is Open for an object file already in memory. The Object does
// not keep data.
func OpenBytes(data []byte, opts *Options) (*Object, error) {
	return openBytes("", data, opts)
}

func openBytes(name string, data []byte, opts *Options) (_ *Object, err error) {
	start := time.Now()
	if opts == nil {
		opts = &Options{}
	}
	if opts.PinPath != "" {
		if err := checkPinDir(opts.PinPath); err != nil {
			return nil, err
		}
	}
	file, err := elf.Parse(data)
	if err != nil {
		return nil, err
	}
	parsed := time.Since(start)
	// Refuse a foreign byte order before linking, which would apply CO-RE
	// against the kernel's BTF for nothing.
	if !isNative(file.ByteOrder) {
		return nil, fmt.Errorf("%w: object is %s", ErrByteOrder, file.ByteOrder)
	}
	spec, err := reloc.LinkFile(file, data, &reloc.LinkOptions{TargetBTF: opts.targetBTF, CORETarget: opts.coreTarget, MarshalBTF: btfMarshalOptions()})
	if err != nil {
		return nil, err
	}
	obj := &Object{name: name, spec: spec, opts: *opts, vars: make(map[string]*reloc.Variable), license: spec.License + "\x00"}
	obj.stats.Parse = parsed
	obj.btf.fd = -1
	obj.env, obj.moduleFDs = opts.environment(), kernel.NewModuleFDs()
	obj.table, err = fdtable.New()
	if err != nil {
		return nil, fmt.Errorf("placeholder fd: %w", err)
	}
	defer func() {
		if err != nil {
			obj.moduleFDs.Close()
			obj.table.Close()
		}
	}()
	for i, ms := range spec.Maps {
		slot, err := obj.table.Reserve()
		if err != nil {
			return nil, fmt.Errorf("map %s: reserving its fd slot: %w", ms.Name, err)
		}
		obj.maps = append(obj.maps, newMap(obj, i, ms, slot))
	}
	for _, ps := range spec.Programs {
		prog, err := obj.newProgram(ps)
		if err != nil {
			return nil, err
		}
		obj.programs = append(obj.programs, prog)
	}
	for _, v := range spec.Variables {
		if _, dup := obj.vars[v.Name]; !dup {
			obj.vars[v.Name] = v
		}
	}
	obj.stats.Open = time.Since(start)
	return obj, nil
}

func isNative(bo binary.ByteOrder) bool {
	probe := []byte{1, 0}
	return bo.Uint16(probe) == binary.NativeEndian.Uint16(probe)
}

// finalInstructions patches every map site of a program with its map's
// slot number. This is the last write to the bytes a program is loaded
// from.
func (o *Object) finalInstructions(ps *reloc.Program) ([]byte, error) {
	insns := append([]byte(nil), ps.Insns...)
	bo := o.spec.ByteOrder
	for _, site := range ps.Sites {
		slot := int32(o.maps[site.Map].slot)
		at := insns[site.Offset:]
		var err error
		switch site.Kind {
		case reloc.SiteMapFD:
			err = ldimm64.PatchMapFD(at, bo, slot)
		case reloc.SiteMapValue:
			err = ldimm64.PatchMapValue(at, bo, slot, site.ValueOffset)
		}
		if err != nil {
			return nil, fmt.Errorf("program %s: map site at offset %#x: %w", ps.Name, site.Offset, err)
		}
	}
	return insns, nil
}

// Close unloads every program, destroys every map this Object created and
// releases all its fds. Links stay attached until closed by their owner.
func (o *Object) Close() error {
	for _, p := range o.programs {
		p.lifecycle.Lock()
	}
	defer func() {
		for _, p := range o.programs {
			p.lifecycle.Unlock()
		}
	}()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	var errs []error
	for _, p := range o.programs {
		if p.fd >= 0 {
			// A pinned or reused program array outlives the Object: no
			// tail call may reach a program it loaded once it is closed.
			p.clearProgArraysLocked()
		}
		p.closeFD()
		if p.attach.progFD > 0 {
			unix.Close(p.attach.progFD)
			p.attach.progFD = 0
		}
	}
	for _, m := range o.maps {
		if err := m.closeLocked(); err != nil {
			errs = append(errs, err)
		}
	}
	o.btf.close()
	if err := o.moduleFDs.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := o.table.Close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Spec describes the object as its file does; CO-RE and externs resolved
// at Open do not change it.
func (o *Object) Spec() *Spec { return newSpec(o.spec) }

// Name is the base name of the object file, empty for OpenBytes.
func (o *Object) Name() string { return o.name }

// Program returns the program of that name, or nil.
func (o *Object) Program(name string) *Program {
	for _, p := range o.programs {
		if p.Name() == name {
			return p
		}
	}
	return nil
}

// Map returns the map of that name, or nil.
func (o *Object) Map(name string) *Map {
	for _, m := range o.maps {
		if m.Name() == name {
			return m
		}
	}
	return nil
}

// Programs returns every program in file order.
func (o *Object) Programs() []*Program { return append([]*Program(nil), o.programs...) }

// Maps returns every map: BTF maps, legacy maps, then global data.
func (o *Object) Maps() []*Map { return append([]*Map(nil), o.maps...) }
