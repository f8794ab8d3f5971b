package bpf

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/syscall"
)

// BatchCursor remembers where a batch lookup stopped. The zero value
// starts at the beginning of the map.
type BatchCursor struct {
	started bool
	next    []byte
}

// BatchLookup copies elements from where cursor stopped into keys and
// values, which hold the same number of elements (values of per-CPU maps
// as Lookup takes them). It returns how many it copied; at the end of the
// map the error is ErrKeyNotExist, with the last elements counted.
func (m *Map) BatchLookup(cursor *BatchCursor, keys, values []byte) (int, error) {
	return m.batchLookup("batch lookup", syscall.MapLookupBatch, cursor, keys, values)
}

// BatchLookupAndDelete is BatchLookup that deletes what it copies.
func (m *Map) BatchLookupAndDelete(cursor *BatchCursor, keys, values []byte) (int, error) {
	return m.batchLookup("batch lookup and delete", syscall.MapLookupAndDeleteBatch, cursor, keys, values)
}

func (m *Map) batchLookup(what string, op func(*syscall.MapBatch) (uint32, error), cursor *BatchCursor, keys, values []byte) (int, error) {
	m.state.RLock()
	defer m.state.RUnlock()
	count, err := m.batchShape(what, keys, values)
	if err != nil {
		return 0, err
	}
	b := &syscall.MapBatch{FD: m.slot, Keys: keys, Values: values, Count: count}
	// The cursor is as large as a key; the kernel wants 8 bytes at least.
	size := max(int(m.spec.KeySize), 8)
	if cursor.started {
		b.InBatch = cursor.next
	}
	out := make([]byte, size)
	b.OutBatch = out
	n, err := op(b)
	cursor.started, cursor.next = true, out
	if err != nil {
		return int(n), m.elementError(what, err)
	}
	return int(n), nil
}

// BatchUpdate stores the elements of keys and values as flags say, and
// returns how many it stored.
func (m *Map) BatchUpdate(keys, values []byte, flags UpdateFlags) (int, error) {
	m.state.RLock()
	defer m.state.RUnlock()
	count, err := m.batchShape("batch update", keys, values)
	if err != nil {
		return 0, err
	}
	n, err := syscall.MapUpdateBatch(&syscall.MapBatch{FD: m.slot, Keys: keys, Values: values, Count: count, ElemFlags: uint64(flags)})
	if err != nil {
		return int(n), m.elementError("batch update", err)
	}
	return int(n), nil
}

// BatchDelete deletes the elements of keys and returns how many it
// deleted.
func (m *Map) BatchDelete(keys []byte) (int, error) {
	m.state.RLock()
	defer m.state.RUnlock()
	count, err := m.batchShape("batch delete", keys, nil)
	if err != nil {
		return 0, err
	}
	n, err := syscall.MapDeleteBatch(&syscall.MapBatch{FD: m.slot, Keys: keys, Count: count})
	if err != nil {
		return int(n), m.elementError("batch delete", err)
	}
	return int(n), nil
}

// batchShape checks that keys (and values, unless nil) hold whole
// elements, the same number of each, and returns that number. m.state is
// held.
func (m *Map) batchShape(what string, keys, values []byte) (uint32, error) {
	if err := m.usableLocked(what); err != nil {
		return 0, err
	}
	ks := int(m.spec.KeySize)
	if ks == 0 || len(keys) == 0 || len(keys)%ks != 0 {
		return 0, fmt.Errorf("map %s: %s: %d bytes of keys is not a whole number of %d-byte keys", m.Name(), what, len(keys), ks)
	}
	count := len(keys) / ks
	if values != nil {
		vs, err := m.valueBufferSize()
		if err != nil {
			return 0, err
		}
		if len(values) != count*vs {
			return 0, fmt.Errorf("map %s: %s: %d bytes of values for %d keys, want %d", m.Name(), what, len(values), count, count*vs)
		}
	}
	if count > 1<<31 {
		return 0, fmt.Errorf("map %s: %s: %d elements: %w", m.Name(), what, count, unix.E2BIG)
	}
	return uint32(count), nil
}
