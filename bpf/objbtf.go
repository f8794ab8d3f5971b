package bpf

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/kernel"
	"github.com/rawload/rawload/syscall"
)

// objectBTF is the object's BTF loaded into the kernel: once per Object,
// on the first program load that needs it, shared by every later load.
// It has a lock of its own, so that the first load's BTF_LOAD runs
// without the Object's: getters and other programs do not wait behind
// it. Lock order: Object.mu, then objectBTF.mu; whoever holds the latter
// takes no other lock.
type objectBTF struct {
	mu     sync.Mutex
	closed bool
	fd     int
	took   atomic.Int64 // ns; read by Stats without waiting for a load
	// err is the kernel's refusal of the blob, kept: it would refuse the
	// same blob again, after building another log. Any other failure
	// (EMFILE, ENOMEM, EINTR...) is tried again at the next use.
	err error
}

// get returns the BTF fd, loading the blob on first use; 0 when the
// object has no BTF. The Object's lock may be held or not.
func (b *objectBTF) get(blob []byte) (int, error) {
	if len(blob) == 0 {
		return 0, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, fmt.Errorf("loading object BTF: %w", ErrClosed)
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.fd >= 0 {
		return b.fd, nil
	}
	if err := kernel.System().CheckBTFSupport(); err != nil {
		err = fmt.Errorf("loading object BTF: %w", err)
		if errors.Is(err, kernel.ErrBTFKindUnsupported) {
			b.err = err
		}
		return 0, err
	}
	start := time.Now()
	fd, log, err := syscall.BTFLoad(blob, 0)
	b.took.Store(int64(time.Since(start)))
	if err != nil {
		err = fmt.Errorf("loading object BTF: %w\n%s", err, log)
		if errors.Is(err, unix.EINVAL) {
			b.err = err
		}
		return 0, err
	}
	b.fd = fd
	return fd, nil
}

// loadTime is how long the BTF_LOAD took.
func (b *objectBTF) loadTime() time.Duration { return time.Duration(b.took.Load()) }

// close unloads the BTF; nothing loads it again.
func (b *objectBTF) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	if b.fd >= 0 {
		unix.Close(b.fd)
		b.fd = -1
	}
}
