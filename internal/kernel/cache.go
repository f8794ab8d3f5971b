package kernel

import (
	"sync"
	"sync/atomic"
)

// once holds a value computed on the first call that succeeds. Unlike
// sync.OnceValues it forgets a failure: EMFILE, ENOMEM, EINTR or a file
// that appears later would otherwise be an error for the rest of the
// process. Callers that fail concurrently each see their own error; one
// load runs at a time, so a success is computed once.
type once[T any] struct {
	done atomic.Bool // set, after val, once val holds the value
	mu   sync.Mutex  // serializes loads
	val  T
}

// get returns the cached value, or calls load and caches what it returns
// unless it fails.
func (o *once[T]) get(load func() (T, error)) (T, error) {
	if o.done.Load() {
		return o.val, nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.done.Load() {
		return o.val, nil
	}
	v, err := load()
	if err != nil {
		var zero T
		return zero, err
	}
	o.val = v
	o.done.Store(true)
	return v, nil
}

// peek returns the cached value without loading it.
func (o *once[T]) peek() (T, bool) {
	if o.done.Load() {
		return o.val, true
	}
	var zero T
	return zero, false
}
