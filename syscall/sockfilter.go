package syscall

import "golang.org/x/sys/unix"

// AttachSocketFilter runs the socket filter program progFD on every packet
// the socket sockFD receives (SO_ATTACH_BPF). A second call replaces the
// program in one step: the socket is never without a filter in between.
func AttachSocketFilter(sockFD, progFD int) error {
	return unix.SetsockoptInt(sockFD, unix.SOL_SOCKET, unix.SO_ATTACH_BPF, progFD)
}

// DetachSocketFilter removes the socket's filter (SO_DETACH_BPF); ENOENT
// if it has none.
func DetachSocketFilter(sockFD int) error {
	return unix.SetsockoptInt(sockFD, unix.SOL_SOCKET, unix.SO_DETACH_BPF, 0)
}
