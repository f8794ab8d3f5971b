package bpf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
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
	if err := checkSize(m.spec); err != nil {
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
			tx.created(m, "")
			return nil
		case !errors.Is(err, unix.ENOENT):
			return fmt.Errorf("map %s: opening pin %s: %w", m.Name(), pin, err)
		}
	}
	if m.spec.BTFKey != 0 || m.spec.BTFValue != 0 {
		// Load the object's BTF outside the map's own timing; a failure
		// shows again, and is dealt with, where the map is created.
		m.obj.btf.get(m.obj.spec.BTF)
	}
	if err := m.createInSlot(pin); err != nil {
		return err
	}
	m.external = pin != ""
	tx.created(m, pin)
	for _, inner := range m.innerMaps() {
		inner.users++
	}
	m.holdsInner = true
	if err := m.writeValuesLocked(); err != nil {
		m.destroyLocked()
		removePin(pin)
		return err
	}
	return nil
}

// createInSlot creates the kernel map, pins it at pin unless that is
// empty, and installs it in the slot. m.state is held from the contents
// written at creation to the mmap, so a Variable.Write in between is
// neither lost nor half applied.
func (m *Map) createInSlot(pin string) error {
	m.state.Lock()
	defer m.state.Unlock()
	start := time.Now()
	fd, err := m.newKernelMap()
	m.obj.stats.MapCreate += time.Since(start)
	if err != nil {
		return err
	}
	m.obj.stats.MapsCreated++
	if pin != "" {
		if err := pinMap(fd, pin); err != nil {
			unix.Close(fd)
			return fmt.Errorf("map %s: %w", m.Name(), err)
		}
	}
	if err := m.installLocked(fd); err != nil {
		removePin(pin)
		return err
	}
	return nil
}

// newKernelMap creates the map and gives a global data map its contents.
// m.state is held.
func (m *Map) newKernelMap() (int, error) {
	s := m.spec
	attr := createAttr(s)
	if s.Type == uapi.MapTypeStructOps {
		if err := m.structOpsCreateAttr(&attr); err != nil {
			return -1, err
		}
	}
	fd, err := m.obj.createMap(s, &attr)
	if err != nil {
		return -1, err
	}
	if s.Source != reloc.MapGlobalData && s.Source != reloc.MapKconfig {
		return fd, nil
	}
	// A new array is all zeroes: .bss (and data written back to zero)
	// needs no write.
	if !allZero(m.contents) {
		var key [4]byte
		if err := syscall.MapUpdateElem(fd, key[:], m.contents, 0); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("map %s: writing initial contents: %w", s.Name, err)
		}
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

// createMap makes the kernel map s defines, with attr (createAttr(s),
// adjusted for the map's kind).
func (o *Object) createMap(s *reloc.MapSpec, attr *syscall.MapCreateAttr) (int, error) {
	if s.Inner != nil {
		// The kernel takes an inner map's shape from an example map,
		// needed only while the outer one is created.
		innerAttr := createAttr(s.Inner)
		inner, err := o.createWithBTF(&innerAttr, s.Inner)
		if err != nil {
			return -1, fmt.Errorf("map %s: inner map template: %w", s.Name, err)
		}
		defer unix.Close(inner)
		attr.InnerMapFD = uint32(inner)
	}
	fd, err := o.createWithBTF(attr, s)
	if err != nil {
		return -1, fmt.Errorf("map %s: create (type %d, key %d, value %d, entries %d, flags %#x): %w",
			s.Name, s.Type, s.KeySize, s.ValueSize, s.MaxEntries, s.Flags, err)
	}
	return fd, nil
}

// createWithBTF creates a map with its key and value types from the
// object's BTF when it has them. Some map types refuse BTF, and older
// kernels refuse some types, so like libbpf it tries again without.
func (o *Object) createWithBTF(attr *syscall.MapCreateAttr, s *reloc.MapSpec) (int, error) {
	if s.BTFKey != 0 || s.BTFValue != 0 {
		if btfFD, err := o.btf.get(o.spec.BTF); err == nil && btfFD > 0 {
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
	return m.installLocked(fd)
}

// installLocked is install with m.state held.
func (m *Map) installLocked(fd int) error {
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

// checkCompatible refuses an existing map that differs from the
// definition in anything the programs rely on: what libbpf compares
// (type, sizes, entries, flags, map_extra), the flags as rawload would
// create them (BPF_F_NUMA_NODE), and the shape of the inner maps of a map
// of maps, where one is there to look at.
func (m *Map) checkCompatible(fd int) error {
	if kind, err := fdKind(fd); err != nil {
		return err
	} else if kind != "bpf-map" {
		return fmt.Errorf("fd %d is a %s, not a map: %w", fd, kind, ErrIncompatibleMap)
	}
	info, err := syscall.MapInfoByFD(fd)
	if err != nil {
		return fmt.Errorf("map info: %w", err)
	}
	want := createAttr(m.spec)
	if err := compareMap(info, &want); err != nil {
		return err
	}
	if m.spec.Inner != nil {
		inner, ok, err := anyInnerMap(fd, m.spec.KeySize)
		if err != nil {
			return fmt.Errorf("inner map: %w", err)
		}
		if ok {
			wantInner := createAttr(m.spec.Inner)
			// Inner maps may differ in max_entries only where the
			// template says so (BPF_F_INNER_MAP); the rest must match.
			if m.spec.Inner.Flags&uapi.FlagInnerMap != 0 {
				wantInner.MaxEntries = inner.MaxEntries
			}
			if err := compareMap(inner, &wantInner); err != nil {
				return fmt.Errorf("inner map: %w", err)
			}
		}
	}
	return nil
}

func compareMap(info *syscall.MapInfo, want *syscall.MapCreateAttr) error {
	type field struct {
		name       string
		have, want uint64
	}
	for _, f := range []field{
		{"type", uint64(info.Type), uint64(want.MapType)},
		{"key size", uint64(info.KeySize), uint64(want.KeySize)},
		{"value size", uint64(info.ValueSize), uint64(want.ValueSize)},
		{"max entries", uint64(info.MaxEntries), uint64(want.MaxEntries)},
		{"flags", uint64(info.MapFlags), uint64(want.MapFlags)},
		{"map_extra", info.MapExtra, want.MapExtra},
	} {
		if f.have != f.want {
			return fmt.Errorf("%s is %d, the definition says %d: %w", f.name, f.have, f.want, ErrIncompatibleMap)
		}
	}
	return nil
}

// anyInnerMap describes one of the maps a map of maps holds: looking an
// element up from user space gives the inner map's id. ok is false for an
// empty map of maps, which has nothing to compare.
func anyInnerMap(fd int, keySize uint32) (*syscall.MapInfo, bool, error) {
	key := make([]byte, keySize)
	for range 64 {
		next := make([]byte, keySize)
		err := syscall.MapGetNextKey(fd, key, next)
		if errors.Is(err, unix.ENOENT) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		key = next
		id := make([]byte, 4)
		if err := syscall.MapLookupElem(fd, key, id); errors.Is(err, unix.ENOENT) {
			continue // an array of maps: an empty slot
		} else if err != nil {
			return nil, false, err
		}
		innerFD, err := syscall.MapGetFDByID(binary.NativeEndian.Uint32(id))
		if errors.Is(err, unix.ENOENT) {
			continue // freed since
		}
		if err != nil {
			return nil, false, err
		}
		info, err := syscall.MapInfoByFD(innerFD)
		unix.Close(innerFD)
		if err != nil {
			return nil, false, err
		}
		return info, true, nil
	}
	return nil, false, nil
}

// fdKind names the kind of bpf object behind fd: "bpf-map", "bpf-prog",
// "bpf_link"... OBJ_GET_INFO_BY_FD answers for any of them, in that
// kind's own layout, so it cannot tell a map from a program.
func fdKind(fd int) (string, error) {
	target, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
	if err != nil {
		return "", fmt.Errorf("fd %d: %w", fd, err)
	}
	kind, ok := strings.CutPrefix(target, "anon_inode:")
	if !ok {
		return "", fmt.Errorf("fd %d is %s, not a bpf object: %w", fd, target, ErrIncompatibleMap)
	}
	return kind, nil
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
