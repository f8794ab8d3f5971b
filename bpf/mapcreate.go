package bpf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/reloc"
	"github.com/rawload/rawload/syscall"
)

// createLocked makes the map live: from its pin when one exists, else
// created afresh (and pinned when the definition asks). created reports
// whether this call made it live. obj.mu is held.
func (m *Map) createLocked() (created bool, err error) {
	if m.live.Load() {
		return false, nil
	}
	if m.spec.Err != nil {
		return false, fmt.Errorf("map %s: %w", m.Name(), m.spec.Err)
	}
	pin := m.pinPath()
	if pin != "" {
		fd, err := syscall.ObjGet(pin, 0)
		switch {
		case err == nil:
			return true, m.adopt(fd, "pinned at "+pin)
		case !errors.Is(err, unix.ENOENT):
			return false, fmt.Errorf("map %s: opening pin %s: %w", m.Name(), pin, err)
		}
	}
	fd, err := m.newKernelMap()
	if err != nil {
		return false, err
	}
	if pin != "" {
		if err := syscall.ObjPin(fd, pin); err != nil {
			unix.Close(fd)
			return false, fmt.Errorf("map %s: pinning at %s: %w", m.Name(), pin, err)
		}
	}
	if err := m.install(fd); err != nil {
		if pin != "" {
			os.Remove(pin)
		}
		return false, err
	}
	m.external = pin != ""
	return true, nil
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
	attr := syscall.MapCreateAttr{
		MapType:    s.Type,
		KeySize:    s.KeySize,
		ValueSize:  s.ValueSize,
		MaxEntries: s.MaxEntries,
		MapFlags:   s.Flags,
		NumaNode:   s.NumaNode,
		MapExtra:   s.MapExtra,
	}
	copy(attr.MapName[:len(attr.MapName)-1], kernelObjectName(s.Name))
	fd, err := syscall.MapCreate(&attr)
	if err != nil {
		return -1, fmt.Errorf("map %s: create (type %d, key %d, value %d, entries %d, flags %#x): %w",
			s.Name, s.Type, s.KeySize, s.ValueSize, s.MaxEntries, s.Flags, err)
	}
	if s.Source != reloc.MapGlobalData {
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

// kernelObjectName keeps the characters the kernel accepts in map and
// program names, within its 15-byte limit.
func kernelObjectName(name string) string {
	out := make([]byte, 0, 15)
	for i := 0; i < len(name) && len(out) < 15; i++ {
		c := name[i]
		if c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			out = append(out, c)
		}
	}
	return string(out)
}

// install moves fd into the slot (consuming it) and maps the value of a
// global data map.
func (m *Map) install(fd int) error {
	m.state.Lock()
	defer m.state.Unlock()
	if err := m.obj.table.Install(m.slot, fd); err != nil {
		return fmt.Errorf("map %s: installing into slot %d: %w", m.Name(), m.slot, err)
	}
	if m.spec.Source == reloc.MapGlobalData && m.spec.Flags&unix.BPF_F_MMAPABLE != 0 {
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
