package bpf

import (
	"fmt"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/reloc"
	"github.com/rawload/rawload/syscall"
)

// Map is a map of an Object. Its fd number, the slot, never changes: the
// slot holds the live map or a placeholder.
type Map struct {
	obj   *Object
	index int
	spec  *reloc.MapSpec
	slot  int

	// Guarded by obj.mu.
	users    int
	external bool // pinned or reused: not ours to destroy on release
	// holdsInner is set while a map of maps this Object created counts
	// as a user of the inner maps its values put in it.
	holdsInner bool
	// specGeneration counts the changes of spec by Set* calls, so that a
	// map created outside the lock from an older definition is not
	// installed.
	specGeneration uint64

	// creating is held through a creation outside obj.mu
	// (createUnlocked), so that a map is created once.
	creating sync.Mutex

	// live is written under obj.mu and state, read freely by element
	// operations: a stale read reaches the placeholder, which the kernel
	// refuses, never another map.
	live atomic.Bool
	// state guards mem and the slot's content against a concurrent
	// Destroy or Close: element operations hold it for reading while they
	// use the slot number, so it is never released under them.
	state sync.RWMutex
	// closed is set, under state, when the Object closes.
	closed bool
	// mem is the mmapped value of a live global data map.
	mem []byte
	// openErr is a problem found at Open, reported at creation.
	openErr error
	// structOps is the kernel's side of a struct_ops map, resolved at
	// its first creation.
	structOps *kernelStructOps
	// contents is what a global data map is created with: the object's
	// initial data plus what was written through Variables while not live.
	contents []byte
}

func newMap(obj *Object, index int, declared *reloc.MapSpec, slot int) *Map {
	// The Map owns its definition: Set* change it while the map is not
	// live, and no other Map or Object sees that.
	spec := new(*declared)
	m := &Map{obj: obj, index: index, spec: spec, slot: slot}
	if err := applyMapDefaults(obj.env, spec); err != nil {
		m.openErr = fmt.Errorf("map %s: %w", spec.Name, err)
	}
	switch spec.Source {
	case reloc.MapGlobalData:
		m.contents = make([]byte, spec.ValueSize)
		copy(m.contents, spec.Contents)
	case reloc.MapKconfig:
		m.contents, m.openErr = kconfigContents(obj.env, spec)
		if m.openErr != nil {
			m.openErr = fmt.Errorf("map %s: %w", spec.Name, m.openErr)
		}
	}
	if spec.Pinning == reloc.PinByName {
		if err := checkPinName(spec.Name); err != nil {
			m.openErr = fmt.Errorf("map %s: pinning by name: %w", spec.Name, err)
		}
	}
	return m
}

// Name is the map's name in the object: the variable name of a BTF or
// legacy map, the section name of global data.
func (m *Map) Name() string { return m.spec.Name }

// Spec describes the map as the object file defines it.
func (m *Map) Spec() MapSpec { return mapSpec(m.spec) }

// FD is the map's slot: the same number for the Object's whole life.
func (m *Map) FD() int { return m.slot }

// Live reports whether the slot holds a created map.
func (m *Map) Live() bool { return m.live.Load() }

// Users is the number of loaded programs using the map, and of live maps
// of maps holding it.
func (m *Map) Users() int {
	m.obj.mu.Lock()
	defer m.obj.mu.Unlock()
	return m.users
}

// Create creates the map in its slot; it is a no-op if the map is live.
func (m *Map) Create() error {
	if _, err := m.createUnlocked(nil, false); err != nil {
		return err
	}
	m.obj.mu.Lock()
	defer m.obj.mu.Unlock()
	if m.obj.closed {
		return fmt.Errorf("map %s: create: %w", m.Name(), ErrClosed)
	}
	return m.createLocked(nil)
}

// Err is why the map cannot be created, known at Open, or nil.
func (m *Map) Err() error {
	if m.openErr != nil {
		return m.openErr
	}
	if m.spec.Err != nil {
		return fmt.Errorf("map %s: %w", m.Name(), m.spec.Err)
	}
	return nil
}

// Destroy closes the map and puts the placeholder back in its slot. It is
// refused with ErrMapInUse while a loaded program uses the map, so that
// no two loaded programs ever see different maps under one name.
func (m *Map) Destroy() error {
	m.obj.mu.Lock()
	defer m.obj.mu.Unlock()
	if m.obj.closed {
		return fmt.Errorf("map %s: destroy: %w", m.Name(), ErrClosed)
	}
	if m.users > 0 {
		return fmt.Errorf("map %s: %d loaded programs: %w", m.Name(), m.users, ErrMapInUse)
	}
	return m.destroyLocked()
}

// closeLocked destroys the map for good as its Object closes: no element
// operation reaches the slot after it. obj.mu is held.
func (m *Map) closeLocked() error {
	m.users = 0
	// The slot itself is closed with the fd table, which releases the
	// map: no placeholder needs to go back in first.
	err := m.releaseLocked(false)
	m.state.Lock()
	m.closed = true
	m.state.Unlock()
	return err
}

func (m *Map) destroyLocked() error { return m.releaseLocked(true) }

// releaseLocked drops the live map; vacate puts the placeholder back in
// its slot, for a map destroyed while its Object lives on.
func (m *Map) releaseLocked(vacate bool) error {
	if !m.live.Load() {
		return nil
	}
	m.state.Lock()
	defer m.state.Unlock()
	if m.mem != nil {
		if err := unix.Munmap(m.mem); err != nil {
			return fmt.Errorf("map %s: munmap: %w", m.Name(), err)
		}
		m.mem = nil
	}
	if vacate {
		if err := m.obj.table.Vacate(m.slot); err != nil {
			return fmt.Errorf("map %s: vacating slot %d: %w", m.Name(), m.slot, err)
		}
	}
	m.live.Store(false)
	m.external = false
	if m.holdsInner {
		m.holdsInner = false
		for _, inner := range m.innerMaps() {
			inner.dropUserLocked()
		}
	}
	return nil
}

// innerMaps are the maps a map of maps holds from its values: it counts
// as their user while live, so none is destroyed and recreated under it.
func (m *Map) innerMaps() []*Map {
	var inner []*Map
	for _, v := range m.spec.Values {
		if v.Map >= 0 {
			inner = append(inner, m.obj.maps[v.Map])
		}
	}
	return inner
}

// dropUserLocked ends one use of the map and, with ReleaseUnusedMaps,
// destroys it when that was the last, unless it is pinned or reused.
// obj.mu is held.
func (m *Map) dropUserLocked() {
	if m.users == 0 {
		return
	}
	m.users--
	if m.users == 0 && m.obj.opts.ReleaseUnusedMaps && !m.external {
		m.destroyLocked()
	}
}

// Lookup copies the value stored under key into value.
func (m *Map) Lookup(key, value []byte) error {
	return m.elemOp("lookup", key, value, func() error { return syscall.MapLookupElem(m.slot, key, value) })
}

// Update stores value under key, creating or replacing the element.
func (m *Map) Update(key, value []byte) error {
	return m.elemOp("update", key, value, func() error { return syscall.MapUpdateElem(m.slot, key, value, 0) })
}

// Delete removes the element under key.
func (m *Map) Delete(key []byte) error {
	return m.elemOp("delete", key, nil, func() error { return syscall.MapDeleteElem(m.slot, key) })
}

// elemOp runs an element operation on the slot while the map is live and
// its Object open. The slot number is used only under m.state: Destroy
// and Close take it for writing, so the number can never be vacated or
// given to another Object while op is on its way to the kernel.
func (m *Map) elemOp(what string, key, value []byte, op func() error) error {
	m.state.RLock()
	defer m.state.RUnlock()
	if m.closed {
		return fmt.Errorf("map %s: %s: %w", m.Name(), what, ErrClosed)
	}
	if err := m.checkElem(key, value); err != nil {
		return err
	}
	if err := op(); err != nil {
		return m.elementError(what, err)
	}
	return nil
}

// checkElem refuses buffers of the wrong size: the kernel would read or
// write past the end of a short one. m.state is held.
func (m *Map) checkElem(key, value []byte) error {
	if !m.live.Load() {
		return fmt.Errorf("map %s: %w", m.Name(), ErrMapNotLive)
	}
	if len(key) != int(m.spec.KeySize) {
		return fmt.Errorf("map %s: key of %d bytes, want %d", m.Name(), len(key), m.spec.KeySize)
	}
	if value == nil {
		return nil
	}
	want, err := m.valueBufferSize()
	if err != nil {
		return err
	}
	if len(value) != want {
		return fmt.Errorf("map %s: value buffer of %d bytes, want %d", m.Name(), len(value), want)
	}
	return nil
}

// valueBufferSize is what a lookup writes: per-CPU maps return one value
// per possible CPU, each rounded up to 8 bytes.
func (m *Map) valueBufferSize() (int, error) {
	size := int(m.spec.ValueSize)
	switch m.spec.Type {
	case uapi.MapTypePerCPUArray, uapi.MapTypePerCPUHash,
		uapi.MapTypeLRUPerCPUHash, uapi.MapTypePerCPUCgroupStorage:
		cpus, err := PossibleCPUs()
		if err != nil {
			return 0, err
		}
		return (size + 7) / 8 * 8 * cpus, nil
	}
	return size, nil
}
