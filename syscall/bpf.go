package syscall

import (
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// bpf issues one bpf(2) command. attr points at the command's attribute
// struct and size is that struct's size. The kernel accepts a size other than
// its own union's: it reads what it knows and insists that any bytes beyond
// are zero, so these full 6.18 layouts also work on older kernels as long as
// the newer fields are left zero.
//
// It returns the syscall's result, an fd numbered 3 or more for the
// commands that create one, or -1 and the bare errno.
func bpf(cmd int, attr unsafe.Pointer, size uintptr) (int, error) {
	if errno := injectedFault(cmd); errno != 0 {
		return -1, errno
	}
	r, _, errno := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(attr), size)
	if errno != 0 {
		return -1, errno
	}
	if makesFD(cmd) {
		return goodFD(int(r))
	}
	return int(r), nil
}

// addr converts a pointer into the __aligned_u64 form the kernel expects.
//
// Go's garbage collector never moves heap objects, but a goroutine stack is
// copied when it grows, and a number computed from a stack address would go
// stale if that happened between here and the syscall. The directive below
// tells the compiler that p is a pointer in disguise, so that whatever the
// caller converted escapes to the heap. Callers still keep it alive until the
// syscall returns with runtime.KeepAlive.
//
//go:uintptrescapes
//go:noinline
func addr(p uintptr) uint64 {
	return uint64(p)
}

// sliceAddr returns the address of b's first element, or 0 (NULL) when b is
// empty.
func sliceAddr[T any](b []T) uint64 {
	if len(b) == 0 {
		return 0
	}
	return addr(uintptr(unsafe.Pointer(&b[0])))
}

// cstring copies s into a NUL-terminated heap buffer and returns it with its
// address. It fails with EINVAL if s contains a NUL.
func cstring(s string) (*byte, uint64, error) {
	if i := strings.IndexByte(s, 0); i >= 0 && i == len(s)-1 {
		// Already terminated: the string's own bytes, no copy. The
		// caller's string outlives the call and is not on a goroutine
		// stack (bpf builds its licenses on the heap at Open).
		p := unsafe.StringData(s)
		return p, addr(uintptr(unsafe.Pointer(p))), nil
	}
	p, err := unix.BytePtrFromString(s)
	if err != nil {
		return nil, 0, err
	}
	return p, addr(uintptr(unsafe.Pointer(p))), nil
}
