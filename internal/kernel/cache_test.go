package kernel

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

func TestOnceKeepsOnlySuccess(t *testing.T) {
	var o once[int]
	calls := 0
	load := func(v int, err error) func() (int, error) {
		return func() (int, error) {
			calls++
			return v, err
		}
	}
	if _, ok := o.peek(); ok {
		t.Fatal("empty once holds a value")
	}
	for _, errno := range []error{unix.EMFILE, unix.ENFILE, unix.ENOMEM, unix.EINTR, unix.EAGAIN} {
		if v, err := o.get(load(7, errno)); !errors.Is(err, errno) || v != 0 {
			t.Errorf("%v: got %d, %v", errno, v, err)
		}
	}
	if v, err := o.get(load(42, nil)); v != 42 || err != nil {
		t.Fatalf("success: %d, %v", v, err)
	}
	if v, err := o.get(load(0, unix.EMFILE)); v != 42 || err != nil {
		t.Errorf("after success: %d, %v", v, err)
	}
	if v, ok := o.peek(); v != 42 || !ok {
		t.Errorf("peek: %d, %v", v, ok)
	}
	if calls != 6 {
		t.Errorf("load called %d times, want 6", calls)
	}
}

// Concurrent callers of an empty once load it one at a time: a success
// is computed once however many ask.
func TestOnceConcurrent(t *testing.T) {
	var o once[int]
	var calls atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			v, err := o.get(func() (int, error) {
				calls.Add(1)
				return 1, nil
			})
			if v != 1 || err != nil {
				t.Error(v, err)
			}
		})
	}
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("loaded %d times", n)
	}
}
