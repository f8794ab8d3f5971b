package testutil

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
)

// RequireKernelEnv is the variable that makes a test fail, instead of
// skip, where what it needs is missing. .ci/run sets it to 1.
const RequireKernelEnv = "RAWLOAD_REQUIRE_KERNEL"

// Required reports whether RAWLOAD_REQUIRE_KERNEL=1 demands that kernel
// tests run.
func Required() bool { return os.Getenv(RequireKernelEnv) == "1" }

// SkipUnlessRequired skips tb for the reason given, or fails it when
// RAWLOAD_REQUIRE_KERNEL=1 says the environment must have what is missing.
func SkipUnlessRequired(tb testing.TB, format string, args ...any) {
	tb.Helper()
	reason := fmt.Sprintf(format, args...)
	if Required() {
		tb.Fatalf("%s, and %s=1", reason, RequireKernelEnv)
	}
	tb.Skipf("%s; set %s=1 to fail instead", reason, RequireKernelEnv)
}

// kernelUsable is set once bpf(2) has worked. A failure is asked again by
// the next test: a probe that failed for want of an fd says nothing.
var kernelUsable struct {
	sync.Mutex
	ok bool
}

// mapCreateAttr is the head of bpf_attr for BPF_MAP_CREATE; the kernel
// takes the fields it is not given as zero.
type mapCreateAttr struct {
	mapType, keySize, valueSize, maxEntries uint32
}

// probeKernel creates a one-element array: the cheapest call that needs
// the privilege loading does. It calls bpf(2) itself rather than through
// package syscall, whose own tests import this package.
func probeKernel() error {
	kernelUsable.Lock()
	defer kernelUsable.Unlock()
	if kernelUsable.ok {
		return nil
	}
	attr := mapCreateAttr{mapType: uapi.MapTypeArray, keySize: 4, valueSize: 4, maxEntries: 1}
	fd, _, errno := unix.Syscall(unix.SYS_BPF, uapi.CmdMapCreate, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	if errno != 0 {
		return errno
	}
	unix.Close(int(fd))
	kernelUsable.ok = true
	return nil
}

// RequireKernel skips tb where bpf(2) is not permitted (EPERM, ENOSYS),
// unless RAWLOAD_REQUIRE_KERNEL=1, and fails it where bpf(2) fails
// otherwise.
func RequireKernel(tb testing.TB) {
	tb.Helper()
	err := probeKernel()
	if err == nil {
		return
	}
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSYS) {
		SkipUnlessRequired(tb, "bpf(2) not permitted here (%v): needs root or CAP_BPF", err)
	}
	tb.Fatalf("probing bpf(2): %v", err)
}

// KernelTest is RequireKernel and CheckNoLeak: a test that uses bpf(2)
// and must leave the fd table as it found it.
func KernelTest(tb testing.TB) {
	tb.Helper()
	RequireKernel(tb)
	CheckNoLeak(tb)
}
