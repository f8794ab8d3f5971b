package bpf

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/fdtable"
	"github.com/rawload/rawload/internal/kernel"
	"github.com/rawload/rawload/reloc"
	"github.com/rawload/rawload/syscall"
)

// errNotStandalone is returned by Map.Close for a map of an Object.
var errNotStandalone = errors.New("the map belongs to an Object: close the Object")

// NewMap creates a map that belongs to no object file, such as an inner
// map to insert into a map of maps at run time. It lives in its own slot
// like any other map; Close releases it.
func NewMap(spec MapSpec) (*Map, error) {
	m, err := newStandaloneMap(toRelocSpec(spec))
	if err != nil {
		return nil, err
	}
	m.obj.mu.Lock()
	err = m.createLocked(nil)
	m.obj.mu.Unlock()
	if err != nil {
		m.obj.Close()
		return nil, err
	}
	return m, nil
}

// LoadPinnedMap opens the map pinned at path on a bpffs. Close releases
// this process's use of it; the pin stays.
func LoadPinnedMap(path string) (*Map, error) {
	fd, err := syscall.ObjGet(path, 0)
	if err != nil {
		return nil, fmt.Errorf("pinned map %s: %w", path, err)
	}
	if kind, err := fdKind(fd); err != nil || kind != "bpf-map" {
		unix.Close(fd)
		if err == nil {
			err = fmt.Errorf("a %s, not a map: %w", kind, ErrIncompatibleMap)
		}
		return nil, fmt.Errorf("pinned map %s: %w", path, err)
	}
	info, err := syscall.MapInfoByFD(fd)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("pinned map %s: info: %w", path, err)
	}
	m, err := newStandaloneMap(&reloc.MapSpec{
		Name:       info.Name,
		Type:       info.Type,
		KeySize:    info.KeySize,
		ValueSize:  info.ValueSize,
		MaxEntries: info.MaxEntries,
		Flags:      info.MapFlags,
		MapExtra:   info.MapExtra,
	})
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	m.obj.mu.Lock()
	err = m.adopt(fd, "pinned at "+path)
	m.obj.mu.Unlock()
	if err != nil {
		m.obj.Close()
		return nil, err
	}
	return m, nil
}

// newStandaloneMap gives a map an Object of its own: a slot, and the
// lifecycle every map has.
func newStandaloneMap(spec *reloc.MapSpec) (*Map, error) {
	obj := &Object{
		spec:       &reloc.Object{},
		env:        kernel.System(),
		moduleFDs:  kernel.NewModuleFDs(),
		vars:       map[string]*reloc.Variable{},
		loaded:     true,
		standalone: true,
	}
	obj.btf.fd = -1
	table, err := fdtable.New()
	if err != nil {
		return nil, fmt.Errorf("map %s: placeholder fd: %w", spec.Name, err)
	}
	obj.table = table
	slot, err := table.Reserve()
	if err != nil {
		obj.Close()
		return nil, fmt.Errorf("map %s: reserving its fd slot: %w", spec.Name, err)
	}
	m := newMap(obj, 0, spec, slot)
	obj.maps = []*Map{m}
	return m, nil
}

// Close destroys a map made by NewMap or LoadPinnedMap and releases its
// fd. The maps of an Object close with it instead.
func (m *Map) Close() error {
	if !m.obj.standalone {
		return fmt.Errorf("map %s: close: %w", m.Name(), errNotStandalone)
	}
	return m.obj.Close()
}

func toRelocSpec(s MapSpec) *reloc.MapSpec {
	rs := &reloc.MapSpec{
		Name:       s.Name,
		Type:       uint32(s.Type),
		KeySize:    s.KeySize,
		ValueSize:  s.ValueSize,
		MaxEntries: s.MaxEntries,
		Flags:      s.Flags,
		MapExtra:   s.MapExtra,
		NumaNode:   s.NumaNode,
	}
	if s.Inner != nil {
		rs.Inner = toRelocSpec(*s.Inner)
	}
	return rs
}
