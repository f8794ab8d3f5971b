package bpf

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/syscall"
)

var (
	// ErrKeyNotExist is returned for a key the map does not hold, and by
	// NextKey after the last key. The kernel's ENOENT stays reachable.
	ErrKeyNotExist = errors.New("key does not exist")
	// ErrKeyExist is returned by an update with UpdateNoExist of a key
	// the map holds. The kernel's EEXIST stays reachable.
	ErrKeyExist = errors.New("key already exists")
)

// UpdateFlags say how an update treats an existing element.
type UpdateFlags uint64

const (
	// UpdateAny creates the element or replaces it.
	UpdateAny UpdateFlags = uapi.UpdateAny
	// UpdateNoExist only creates: ErrKeyExist if the key is there.
	UpdateNoExist UpdateFlags = uapi.UpdateNoExist
	// UpdateExist only replaces: ErrKeyNotExist if the key is not there.
	UpdateExist UpdateFlags = uapi.UpdateExist
	// UpdateLock takes the value's bpf_spin_lock for the copy.
	UpdateLock UpdateFlags = uapi.FlagLock
)

// elementError names the map and the operation, and makes the kernel's
// ENOENT and EEXIST recognisable as ErrKeyNotExist and ErrKeyExist.
func (m *Map) elementError(what string, err error) error {
	switch {
	case errors.Is(err, unix.ENOENT):
		return fmt.Errorf("map %s: %s: %w (%w)", m.Name(), what, ErrKeyNotExist, err)
	case errors.Is(err, unix.EEXIST):
		return fmt.Errorf("map %s: %s: %w (%w)", m.Name(), what, ErrKeyExist, err)
	}
	return fmt.Errorf("map %s: %s: %w", m.Name(), what, err)
}

// UpdateWith stores value under key as flags say.
func (m *Map) UpdateWith(key, value []byte, flags UpdateFlags) error {
	return m.elemOp("update", key, value, func() error {
		return syscall.MapUpdateElem(m.slot, key, value, uint64(flags))
	})
}

// LookupAndDelete copies the value stored under key into value and
// deletes the element; a nil key pops a queue or stack.
func (m *Map) LookupAndDelete(key, value []byte) error {
	return m.elemOp("lookup and delete", key, value, func() error {
		return syscall.MapLookupAndDeleteElem(m.slot, key, value)
	})
}

// NextKey writes the key that follows key into next; a nil key asks for
// the first. After the last key it returns ErrKeyNotExist.
func (m *Map) NextKey(key, next []byte) error {
	m.state.RLock()
	defer m.state.RUnlock()
	if err := m.usableLocked("next key"); err != nil {
		return err
	}
	ks := int(m.spec.KeySize)
	if key != nil && len(key) != ks || len(next) != ks {
		return fmt.Errorf("map %s: next key: keys of %d and %d bytes, want %d", m.Name(), len(key), len(next), ks)
	}
	if err := syscall.MapGetNextKey(m.slot, key, next); err != nil {
		return m.elementError("next key", err)
	}
	return nil
}

// Freeze makes the map read-only for user space from now on.
func (m *Map) Freeze() error {
	m.state.RLock()
	defer m.state.RUnlock()
	if err := m.usableLocked("freeze"); err != nil {
		return err
	}
	if err := syscall.MapFreeze(m.slot); err != nil {
		return fmt.Errorf("map %s: freeze: %w", m.Name(), err)
	}
	return nil
}

// usableLocked refuses an operation on a closed or not live map. m.state
// is held.
func (m *Map) usableLocked(what string) error {
	if m.closed {
		return fmt.Errorf("map %s: %s: %w", m.Name(), what, ErrClosed)
	}
	if !m.live.Load() {
		return fmt.Errorf("map %s: %s: %w", m.Name(), what, ErrMapNotLive)
	}
	return nil
}

// perCPU reports whether the map holds one value per possible CPU.
func (m *Map) perCPU() bool {
	switch m.spec.Type {
	case uapi.MapTypePerCPUArray, uapi.MapTypePerCPUHash, uapi.MapTypeLRUPerCPUHash, uapi.MapTypePerCPUCgroupStorage:
		return true
	}
	return false
}

// LookupPerCPU returns the value of each possible CPU under key, in CPU
// order.
func (m *Map) LookupPerCPU(key []byte) ([][]byte, error) {
	if !m.perCPU() {
		return nil, fmt.Errorf("map %s: a %s map has one value per key, not one per CPU", m.Name(), MapType(m.spec.Type))
	}
	size, err := m.valueBufferSize()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, size)
	if err := m.Lookup(key, buf); err != nil {
		return nil, err
	}
	stride := (int(m.spec.ValueSize) + 7) / 8 * 8
	values := make([][]byte, 0, size/stride)
	for off := 0; off < size; off += stride {
		values = append(values, buf[off:off+int(m.spec.ValueSize)])
	}
	return values, nil
}

// UpdatePerCPU stores one value per possible CPU under key.
func (m *Map) UpdatePerCPU(key []byte, values [][]byte, flags UpdateFlags) error {
	if !m.perCPU() {
		return fmt.Errorf("map %s: a %s map has one value per key, not one per CPU", m.Name(), MapType(m.spec.Type))
	}
	size, err := m.valueBufferSize()
	if err != nil {
		return err
	}
	stride := (int(m.spec.ValueSize) + 7) / 8 * 8
	if len(values)*stride != size {
		return fmt.Errorf("map %s: %d values, want one per possible CPU (%d)", m.Name(), len(values), size/stride)
	}
	buf := make([]byte, size)
	for i, v := range values {
		if len(v) != int(m.spec.ValueSize) {
			return fmt.Errorf("map %s: value %d of %d bytes, want %d", m.Name(), i, len(v), m.spec.ValueSize)
		}
		copy(buf[i*stride:], v)
	}
	return m.UpdateWith(key, buf, flags)
}

// DupFD returns a new fd of the live map, the caller's to close: a
// reference that outlives a Destroy or Close of the Object, for event
// readers or another process. It is numbered 3 or more.
func (m *Map) DupFD() (int, error) {
	m.state.RLock()
	defer m.state.RUnlock()
	if err := m.usableLocked("duplicate fd"); err != nil {
		return -1, err
	}
	fd, err := unix.FcntlInt(uintptr(m.slot), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return -1, fmt.Errorf("map %s: duplicating fd %d: %w", m.Name(), m.slot, err)
	}
	return fd, nil
}
