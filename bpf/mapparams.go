package bpf

import (
	"errors"
	"fmt"
	"math/bits"
	"os"

	"github.com/rawload/rawload/internal/kernel"
	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/reloc"
)

// ErrMapLive is returned when changing a parameter of a live map: the
// kernel fixes them at creation. Destroy the map (after unloading its
// users), change it, and Create it again; the instructions do not change.
var ErrMapLive = errors.New("map is live: its parameters are fixed until it is destroyed")

// applyMapDefaults gives a definition what libbpf gives it before
// creation: a perf event array without max_entries gets one slot per
// possible CPU, and a ring buffer's size is rounded up to a page-aligned
// power of two.
func applyMapDefaults(env *kernel.Env, s *reloc.MapSpec) error {
	switch s.Type {
	case uapi.MapTypePerfEventArray:
		if s.MaxEntries == 0 {
			cpus, err := env.PossibleCPUs()
			if err != nil {
				return fmt.Errorf("perf event array size from the possible CPUs: %w", err)
			}
			s.MaxEntries = uint32(cpus)
		}
	case uapi.MapTypeRingBuf, uapi.MapTypeUserRingBuf:
		s.MaxEntries = ringBufferSize(s.MaxEntries)
	}
	return nil
}

// ringBufferSize rounds a ring buffer size up to what the kernel takes, a
// power-of-two number of pages, as libbpf does; 0 stays 0 (the size was
// never set) and so does a size no such number reaches.
func ringBufferSize(size uint32) uint32 {
	page := uint64(os.Getpagesize())
	if size == 0 || uint64(size)%page == 0 && bits.OnesCount64(uint64(size)/page) == 1 {
		return size
	}
	for n := page; n <= 1<<32-1; n <<= 1 {
		if n > uint64(size) {
			return uint32(n)
		}
	}
	return size
}

// sizeless reports whether a map type is created with max_entries 0:
// local storage and cgroup storage maps hold one value per object.
func sizeless(mapType uint32) bool {
	switch mapType {
	case uapi.MapTypeCgroupStorage, uapi.MapTypePerCPUCgroupStorage, uapi.MapTypeSKStorage,
		uapi.MapTypeInodeStorage, uapi.MapTypeTaskStorage, uapi.MapTypeCgrpStorage:
		return true
	}
	return false
}

// checkSize refuses to create a map whose size the object left for user
// space to set, with what to do about it, rather than the kernel's EINVAL.
func checkSize(s *reloc.MapSpec) error {
	if s.MaxEntries == 0 && !sizeless(s.Type) {
		return fmt.Errorf("map %s: max_entries is 0: the object expects its size to be set before it is created "+
			"(Map.SetMaxEntries, or --max-entries %s=N)", s.Name, s.Name)
	}
	if s.ValueSize == 0 && s.Type == uapi.MapTypeStackTrace {
		return fmt.Errorf("map %s: value_size is 0: the object expects its stack depth to be set before it is created "+
			"(Map.SetValueSize of 8 bytes a frame, or --value-size %s=N)", s.Name, s.Name)
	}
	return nil
}

// SetMaxEntries sets the number of entries the map is created with; a
// ring buffer's size is rounded up as libbpf does. The map must not be
// live. With the instructions naming only the map's slot, this resizes a
// map at run time: unload its users, Destroy, SetMaxEntries, Create and
// load them again.
func (m *Map) SetMaxEntries(n uint32) error {
	return m.setParam("max_entries", func(s *reloc.MapSpec) error {
		s.MaxEntries = n
		if s.Type == uapi.MapTypeRingBuf || s.Type == uapi.MapTypeUserRingBuf {
			s.MaxEntries = ringBufferSize(n)
		}
		return nil
	})
}

// SetValueSize sets the size of the map's values, for the map types whose
// value size user space chooses: the user's data, a stack trace's depth
// (8 bytes a frame), a socket or device map's 4- or 8-byte entries. The
// value's BTF type, which names the old size, is dropped.
func (m *Map) SetValueSize(n uint32) error {
	return m.setParam("value_size", func(s *reloc.MapSpec) error {
		if !userValue(s) {
			return fmt.Errorf("a %s map's values are not the user's to size", MapType(s.Type))
		}
		s.ValueSize = n
		s.ForgetValueType()
		return nil
	})
}

// SetFlags sets the map_flags the map is created with.
func (m *Map) SetFlags(flags uint32) error {
	return m.setParam("flags", func(s *reloc.MapSpec) error {
		if s.Source == reloc.MapGlobalData || s.Source == reloc.MapKconfig {
			return errors.New("global data maps keep the flags their Variables rely on")
		}
		s.Flags = flags
		return nil
	})
}

// SetMapExtra sets map_extra: a bloom filter's number of hash functions,
// an arena's address.
func (m *Map) SetMapExtra(extra uint64) error {
	return m.setParam("map_extra", func(s *reloc.MapSpec) error {
		s.MapExtra = extra
		return nil
	})
}

// SetNumaNode makes the map's memory come from a NUMA node.
func (m *Map) SetNumaNode(node uint32) error {
	return m.setParam("numa_node", func(s *reloc.MapSpec) error {
		s.NumaNode = node
		return nil
	})
}

// SetInnerMap sets the template the inner maps of a map of maps must
// match: its type, key and value sizes, entries and flags.
func (m *Map) SetInnerMap(inner MapSpec) error {
	return m.setParam("inner map", func(s *reloc.MapSpec) error {
		if s.Inner == nil {
			return fmt.Errorf("a %s map has no inner maps", MapType(s.Type))
		}
		name := s.Inner.Name
		s.Inner = toRelocSpec(inner)
		s.Inner.Name = name
		return nil
	})
}

// setParam changes the map's definition while it is not live.
func (m *Map) setParam(what string, change func(*reloc.MapSpec) error) error {
	m.obj.mu.Lock()
	defer m.obj.mu.Unlock()
	if m.obj.closed {
		return fmt.Errorf("map %s: set %s: %w", m.Name(), what, ErrClosed)
	}
	if m.live.Load() {
		return fmt.Errorf("map %s: set %s: %w", m.Name(), what, ErrMapLive)
	}
	m.state.Lock()
	defer m.state.Unlock()
	s := *m.spec
	if err := change(&s); err != nil {
		return fmt.Errorf("map %s: set %s: %w", m.Name(), what, err)
	}
	*m.spec = s
	m.specGeneration++
	return nil
}

// userValue reports whether a map's values are data the user chooses the
// size of, rather than fds, ids or a layout the kernel or the object's
// globals fix.
func userValue(s *reloc.MapSpec) bool {
	if s.Source != reloc.MapBTF && s.Source != reloc.MapLegacy {
		return false
	}
	switch s.Type {
	case uapi.MapTypeHash, uapi.MapTypeArray, uapi.MapTypePerCPUHash, uapi.MapTypePerCPUArray,
		uapi.MapTypeLRUHash, uapi.MapTypeLRUPerCPUHash, uapi.MapTypeLPMTrie, uapi.MapTypeQueue,
		uapi.MapTypeStack, uapi.MapTypeBloomFilter, uapi.MapTypeSKStorage, uapi.MapTypeInodeStorage,
		uapi.MapTypeTaskStorage, uapi.MapTypeCgrpStorage, uapi.MapTypeStackTrace, uapi.MapTypeSockMap,
		uapi.MapTypeSockHash, uapi.MapTypeDevMap, uapi.MapTypeDevMapHash, uapi.MapTypeCPUMap,
		uapi.MapTypeCgroupStorage, uapi.MapTypePerCPUCgroupStorage:
		return true
	}
	return false
}

// EffectiveMaxEntries is the number of entries the map would be created
// with on this machine: the declared one after libbpf's defaults (possible
// CPUs for a perf event array, a ring buffer rounded up). It reads the
// possible CPUs from sysfs, and makes no bpf(2) call.
func (s MapSpec) EffectiveMaxEntries() (uint32, error) {
	rs := toRelocSpec(s)
	if err := applyMapDefaults(kernel.System(), rs); err != nil {
		return 0, fmt.Errorf("map %s: %w", s.Name, err)
	}
	return rs.MaxEntries, nil
}
