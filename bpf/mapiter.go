package bpf

import (
	"errors"
	"fmt"
)

// MapIterator walks a map's keys and values with BPF_MAP_GET_NEXT_KEY.
//
//	it := m.Iterate()
//	key, value := make([]byte, ks), make([]byte, vs)
//	for it.Next(key, value) { ... }
//	if err := it.Err(); err != nil { ... }
//
// Elements deleted or added during the walk may be missed or seen; a hash
// map whose current key is deleted restarts from its first key, so the
// walk is bounded and reports an error when the map kept changing.
type MapIterator struct {
	m     *Map
	prev  []byte
	steps uint64
	done  bool
	err   error
}

// Iterate returns an iterator over the map's elements.
func (m *Map) Iterate() *MapIterator { return &MapIterator{m: m} }

// Next copies the next key and its value into key and value and reports
// whether there was one. value may be nil to walk keys only. At the end,
// or after an error, it returns false; Err tells which.
func (it *MapIterator) Next(key, value []byte) bool {
	if it.done {
		return false
	}
	// A map of n entries is walked in n steps; twice as many, plus a few,
	// means its keys kept moving under the walk.
	if limit := 2*uint64(it.m.spec.MaxEntries) + 16; it.steps > limit {
		return it.stop(fmt.Errorf("map %s: iteration: more than %d steps, the map keeps changing", it.m.Name(), limit))
	}
	it.steps++
	for {
		if err := it.m.NextKey(it.prev, key); err != nil {
			if errors.Is(err, ErrKeyNotExist) {
				return it.stop(nil)
			}
			return it.stop(err)
		}
		it.prev = append(it.prev[:0], key...)
		if value == nil {
			return true
		}
		err := it.m.Lookup(key, value)
		if errors.Is(err, ErrKeyNotExist) {
			continue // deleted since NextKey saw it
		}
		if err != nil {
			return it.stop(err)
		}
		return true
	}
}

func (it *MapIterator) stop(err error) bool {
	it.done, it.err = true, err
	return false
}

// Err is the error that ended the iteration, nil when it ran to the end.
func (it *MapIterator) Err() error { return it.err }
