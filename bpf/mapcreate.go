package bpf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/reloc"
	"github.com/rawload/rawload/syscall"
)

// createLocked makes the map live: from its pin when one exists, else
// created afresh (and pinned when the definition asks), with the maps its
// values refer to created first. Every map this makes live is recorded in
// tx, which may be nil. obj.mu is held.
func (m *Map) createLocked(tx *loadTx) error {
	if m.live.Load() {
		return nil
	}
	if err := m.Err(); err != nil {
		return err
	}
	for _, v := range m.spec.Values {
		if v.Map >= 0 {
			if err := m.obj.maps[v.Map].createLocked(tx); err != nil {
				return fmt.Errorf("map %s: inner map: %w", m.Name(), err)
			}
		}
	}
	pin := m.pinPath()
	if pin != "" {
		fd, err := syscall.ObjGet(pin, 0)
		switch {
		case err == nil:
			if err := m.adopt(fd, "pinned at "+pin); err != nil {
				return err
			}
			tx.created(m)
			return nil
		case !errors.Is(err, unix.ENOENT):
			return fmt.Errorf("map %s: opening pin %s: %w", m.Name(), pin, err)
		}
	}
	if m.spec.BTFKey != 0 || m.spec.BTFValue != 0 {
		// Load the object's BTF outside the map's own timing; a failure
		// shows again, and is dealt with, where the map is created.
		m.obj.btf.fdLocked(m.obj.spec.BTF)
	}
	start := time.Now()
	fd, err := m.newKernelMap()
	m.obj.stats.MapCreate += time.Since(start)
	if err != nil {
		return err
	}
	m.obj.stats.MapsCreated++
	if pin != "" {
		if err := syscall.ObjPin(fd, pin); err != nil {
			unix.Close(fd)
			return fmt.Errorf("map %s: pinning at %s: %w", m.Name(), pin, err)
		}
	}
	if err := m.install(fd); err != nil {
		if pin != "" {
			os.Remove(pin)
		}
		return err
	}
	m.external = pin != ""
	tx.created(m)
	for _, inner := range m.innerMaps() {
		inner.users++
	}
	m.holdsInner = true
	if err := m.writeValuesLocked(); err != nil {
		m.destroyLocked()
		return err
	}
	return nil
}

func (m *Map) pinPath() string {
	if m.spec.Pinning != reloc.PinByName || m.obj.opts.PinPath == "" {
		return ""
	}
	return filepath.Join(m.obj.opts.PinPath, m.spec.Name)
}

// newKernelMap creates the map and gives a global data map its contents.
func (m *Map) newKernelMap() (int, error) {
	s := m.spec
	attr := createAttr(s)
	if s.Inner != nil {
		// The kernel takes an inner map's shape from an example map,
		// needed only while the outer one is created.
		innerAttr := createAttr(s.Inner)
		inner, err := m.obj.createWithBTF(&innerAttr, s.Inner)
		if err != nil {
			return -1, fmt.Errorf("map %s: inner map template: %w", s.Name, err)
		}
		defer unix.Close(inner)
		attr.InnerMapFD = uint32(inner)
	}
	fd, err := m.obj.createWithBTF(&attr, s)
	if err != nil {
		return -1, fmt.Errorf("map %s: create (type %d, key %d, value %d, entries %d, flags %#x): %w",
			s.Name, s.Type, s.KeySize, s.ValueSize, s.MaxEntries, s.Flags, err)
	}
	if s.Source != reloc.MapGlobalData && s.Source != reloc.MapKconfig {
		return fd, nil
	}
	var key [4]byte
	m.state.RLock()
	err = syscall.MapUpdateElem(fd, key[:], m.contents, 0)
	m.state.RUnlock()
	if err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("map %s: writing initial contents: %w", s.Name, err)
	}
	if s.Freeze {
		if err := syscall.MapFreeze(fd); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("map %s: freeze: %w", s.Name, err)
		}
	}
	return fd, nil
}

func createAttr(s *reloc.MapSpec) syscall.MapCreateAttr {
	attr := syscall.MapCreateAttr{
		MapType:    s.Type,
		KeySize:    s.KeySize,
		ValueSize:  s.ValueSize,
		MaxEntries: s.MaxEntries,
		MapFlags:   s.Flags,
		NumaNode:   s.NumaNode,
		MapExtra:   s.MapExtra,
		MapName:    syscall.ObjName(s.Name),
	}
	if s.NumaNode != 0 {
		attr.MapFlags |= uapi.FlagNUMANode
	}
	return attr
}

// createWithBTF creates a map with its key and value types from the
// object's BTF when it has them. Some map types refuse BTF, and older
// kernels refuse some types, so like libbpf it tries again without.
func (o *Object) createWithBTF(attr *syscall.MapCreateAttr, s *reloc.MapSpec) (int, error) {
	if s.BTFKey != 0 || s.BTFValue != 0 {
		if btfFD, err := o.btf.fdLocked(o.spec.BTF); err == nil && btfFD > 0 {
			withBTF := *attr
			withBTF.BTFFD, withBTF.BTFKeyTypeID, withBTF.BTFValueTypeID = uint32(btfFD), uint32(s.BTFKey), uint32(s.BTFValue)
			if fd, err := syscall.MapCreate(&withBTF); err == nil {
				return fd, nil
			}
		}
	}
	return syscall.MapCreate(attr)
}

// install moves fd into the slot (consuming it) and maps the value of a
// global data map.
func (m *Map) install(fd int) error {
	m.state.Lock()
	defer m.state.Unlock()
	if err := m.obj.table.Install(m.slot, fd); err != nil {
		return fmt.Errorf("map %s: installing into slot %d: %w", m.Name(), m.slot, err)
	}
	if m.spec.Source == reloc.MapGlobalData && m.spec.Flags&uapi.FlagMmapable != 0 {
		prot := unix.PROT_READ | unix.PROT_WRITE
		if m.spec.Freeze {
			prot = unix.PROT_READ
		}
		mem, err := unix.Mmap(m.slot, 0, int(m.spec.ValueSize), prot, unix.MAP_SHARED)
		if err != nil {
			m.obj.table.Vacate(m.slot)
			return fmt.Errorf("map %s: mmap: %w", m.Name(), err)
		}
		m.mem = mem
	}
	m.live.Store(true)
	return nil
}

// adopt makes an existing map, owned elsewhere, live in the slot after
// checking it matches the definition. It consumes fd.
func (m *Map) adopt(fd int, origin string) error {
	if err := m.checkCompatible(fd); err != nil {
		unix.Close(fd)
		return fmt.Errorf("map %s (%s): %w", m.Name(), origin, err)
	}
	if err := m.install(fd); err != nil {
		return err
	}
	m.external = true
	return nil
}

func (m *Map) checkCompatible(fd int) error {
	info, err := syscall.MapInfoByFD(fd)
	if err != nil {
		return fmt.Errorf("map info: %w", err)
	}
	s := m.spec
	type field struct {
		name       string
		have, want uint32
	}
	for _, f := range []field{
		{"type", info.Type, s.Type},
		{"key size", info.KeySize, s.KeySize},
		{"value size", info.ValueSize, s.ValueSize},
		{"max entries", info.MaxEntries, s.MaxEntries},
		{"flags", info.MapFlags, s.Flags},
	} {
		if f.have != f.want {
			return fmt.Errorf("%s is %d, the definition says %d: %w", f.name, f.have, f.want, ErrIncompatibleMap)
		}
	}
	return nil
}

// ReuseFD makes the map use an existing map instead of creating one. The
// map must not be live; fd stays the caller's (rawload keeps a duplicate).
// A reused map is never destroyed by ReleaseUnusedMaps.
func (m *Map) ReuseFD(fd int) error {
	m.obj.mu.Lock()
	defer m.obj.mu.Unlock()
	if m.obj.closed {
		return ErrClosed
	}
	if m.live.Load() {
		return fmt.Errorf("map %s: already live, destroy it before reusing another map", m.Name())
	}
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return fmt.Errorf("map %s: duplicating fd %d: %w", m.Name(), fd, err)
	}
	return m.adopt(dup, fmt.Sprintf("reused fd %d", fd))
}

// Pin pins the live map at path on a bpffs. A pinned map is never
// destroyed by ReleaseUnusedMaps.
func (m *Map) Pin(path string) error {
	m.obj.mu.Lock()
	defer m.obj.mu.Unlock()
	if !m.live.Load() {
		return fmt.Errorf("map %s: %w", m.Name(), ErrMapNotLive)
	}
	if err := syscall.ObjPin(m.slot, path); err != nil {
		return fmt.Errorf("map %s: pin at %s: %w", m.Name(), path, err)
	}
	m.external = true
	return nil
}
