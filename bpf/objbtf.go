package bpf

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/syscall"
)

// objectBTF is the object's BTF loaded into the kernel: once per Object,
// on the first program load that needs it, shared by every later load.
type objectBTF struct {
	fd int
}

// fdLocked returns the BTF fd, loading the blob on first use; 0 when the
// object has no BTF. obj.mu is held.
func (b *objectBTF) fdLocked(blob []byte) (int, error) {
	if len(blob) == 0 {
		return 0, nil
	}
	if b.fd >= 0 {
		return b.fd, nil
	}
	if err := probeBTFSupport(); err != nil {
		return 0, fmt.Errorf("loading object BTF: %w", err)
	}
	fd, log, err := syscall.BTFLoad(blob, 0)
	if err != nil {
		return 0, fmt.Errorf("loading object BTF: %w\n%s", err, log)
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
