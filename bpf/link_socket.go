package bpf

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/syscall"
)

func init() {
	registerAttacher(attachSocketFilter, "socket")
	registerAttacher(attachReuseport, "sk_reuseport", "sk_reuseport/migrate")
}

// attachSocketFilter sets a socket filter on the socket
// AttachOptions.Socket (SO_ATTACH_BPF). It is not a BPF link: the Link
// holds a duplicate of the socket, detaches with SO_DETACH_BPF on Close,
// and a reload sets the new instance, which replaces the old in one step.
func attachSocketFilter(p *Program, progFD int, opts *AttachOptions) (*Link, error) {
	return attachToSocket(p, progFD, opts, "socket_filter", syscall.AttachSocketFilter, syscall.DetachSocketFilter)
}

// attachReuseport selects the socket of a SO_REUSEPORT group with an
// sk_reuseport program, set on one socket of the group
// (SO_ATTACH_REUSEPORT_EBPF), which replaces the group's program in one
// step as socket filters do.
func attachReuseport(p *Program, progFD int, opts *AttachOptions) (*Link, error) {
	set := func(sock, progFD int) error {
		return unix.SetsockoptInt(sock, unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_EBPF, progFD)
	}
	unset := func(sock int) error {
		return unix.SetsockoptInt(sock, unix.SOL_SOCKET, unix.SO_DETACH_REUSEPORT_BPF, 0)
	}
	return attachToSocket(p, progFD, opts, "sk_reuseport", set, unset)
}

// attachToSocket sets a program on a socket with set, undone by unset.
func attachToSocket(p *Program, progFD int, opts *AttachOptions, kind string,
	set func(sock, progFD int) error, unset func(sock int) error) (*Link, error) {
	// fd 0 is the zero value of AttachOptions.Socket, taken as none.
	if opts.Socket <= 0 {
		return nil, targetMissing(p, needsSocket)
	}
	target := fmt.Sprintf("socket fd %d", opts.Socket)
	// The Link holds its own fd of the socket: the caller's may be closed,
	// or its number reused, before the Link is.
	sock, err := unix.FcntlInt(uintptr(opts.Socket), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return nil, fmt.Errorf("attach %s: %s: %w", kind, target, err)
	}
	if err := set(sock, progFD); err != nil {
		unix.Close(sock)
		if errors.Is(err, unix.ENOTSOCK) {
			return nil, fmt.Errorf("attach %s: fd %d is not a socket: %w", kind, opts.Socket, err)
		}
		return nil, fmt.Errorf("attach %s to %s: %w", kind, target, err)
	}
	att := attachment{
		fd:   -1,
		held: []int{sock},
		detach: func() error {
			// ENOENT: the socket has no program any more, which was
			// the point.
			if err := unset(sock); err != nil && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("detach %s from %s: %w", kind, target, err)
			}
			return nil
		},
		update: func(progFD int) error { return set(sock, progFD) },
	}
	return newLink(kind, target, att), nil
}
