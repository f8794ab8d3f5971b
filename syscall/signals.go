package syscall

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The verifier gives up with EAGAIN when it finds a signal pending on the
// loading thread, and the retry verifies the whole program again. The Go
// runtime aims two signals at individual threads on its own: SIGURG, to
// preempt a goroutine it believes is running (one that has just entered the
// syscall can still be hit), and SIGPROF, whose per-thread CPU timer fires on
// exactly the thread that spends its time in the verifier.
//
// withRuntimeSignalsBlocked blocks both on the calling thread while f runs;
// they are delivered when it returns. Signals sent from elsewhere (SIGCHLD,
// a user's SIGINT) can still interrupt a load and are retried by the caller.
func withRuntimeSignalsBlocked(f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	set := sigset(unix.SIGURG, unix.SIGPROF)
	var old unix.Sigset_t
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, &old); err != nil {
		// Blocking only saves retries; load anyway.
		f()
		return
	}
	defer unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
	f()
}

func sigset(sigs ...unix.Signal) unix.Sigset_t {
	var set unix.Sigset_t
	bits := int(unsafe.Sizeof(set.Val[0])) * 8
	for _, sig := range sigs {
		n := int(sig) - 1
		set.Val[n/bits] |= 1 << (n % bits)
	}
	return set
}
