package bpf

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/syscall"
)

// ErrNoPermission is returned by CheckAccess where this process may not
// use bpf(2).
var ErrNoPermission = errors.New("bpf(2) is not permitted: needs root or CAP_BPF (and CAP_PERFMON for tracing programs, CAP_NET_ADMIN for network hooks)")

// CheckAccess creates and drops a one-element array: the cheapest call
// that needs the privilege loading does. A tool calls it once, to say
// what is missing once rather than once per program.
func CheckAccess() error {
	fd, err := syscall.MapCreate(&syscall.MapCreateAttr{MapType: uapi.MapTypeArray, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	switch {
	case err == nil:
		unix.Close(fd)
		return nil
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES), errors.Is(err, unix.ENOSYS):
		return fmt.Errorf("%w (%w)", ErrNoPermission, err)
	}
	return fmt.Errorf("bpf(2): %w", err)
}
