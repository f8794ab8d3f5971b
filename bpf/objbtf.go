package bpf

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/kernel"
	"github.com/rawload/rawload/syscall"
)

// objectBTF is the object's BTF loaded into the kernel: once per Object,
// on the first program load that needs it, shared by every later load.
type objectBTF struct {
	fd   int
	took time.Duration
	// err is the kernel's refusal of the blob, kept: it would refuse the
	// same blob again, after building another log. Any other failure
	// (EMFILE, ENOMEM, EINTR...) is tried again at the next use.
	err error
}

// fdLocked returns the BTF fd, loading the blob on first use; 0 when the
// object has no BTF. obj.mu is held.
func (b *objectBTF) fdLocked(blob []byte) (int, error) {
	if len(blob) == 0 {
		return 0, nil
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
	b.took = time.Since(start)
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

func (b *objectBTF) close() {
	if b.fd >= 0 {
		unix.Close(b.fd)
		b.fd = -1
	}
}
