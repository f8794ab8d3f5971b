package syscall

import (
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// FaultHook decides, before each bpf(2) command, whether it fails: a
// non-zero errno is returned as that command's error and the kernel is
// not called. It is a seam for tests that inject a failure at every point
// of a multi-step operation and check that nothing is left behind.
type FaultHook func(cmd int) unix.Errno

var faultHook atomic.Pointer[FaultHook]

// SetFaultHook installs hook for every later bpf(2) of the process, or
// removes it when hook is nil, and returns the hook it replaced. Only
// tests call it.
func SetFaultHook(hook FaultHook) FaultHook {
	var old *FaultHook
	if hook == nil {
		old = faultHook.Swap(nil)
	} else {
		old = faultHook.Swap(&hook)
	}
	if old == nil {
		return nil
	}
	return *old
}

// injectedFault is the errno the hook chose for cmd, 0 for none.
func injectedFault(cmd int) unix.Errno {
	if hook := faultHook.Load(); hook != nil {
		return (*hook)(cmd)
	}
	return 0
}
