package bpf

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/kernel"
	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/syscall"
)

// TestObjectBTFTransientNotKept fails every BTF_LOAD with EMFILE: the
// object's BTF load fails, and succeeds at the next use once fds are
// there again. Only the kernel's refusal of the blob is kept.
func TestObjectBTFTransientNotKept(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("loader.o"), nil)
	// Probe first, so that the faults reach the object's own BTF load.
	must(t, kernel.System().CheckBTFSupport())
	syscall.SetFaultHook(func(cmd int) unix.Errno {
		if cmd == uapi.CmdBTFLoad {
			return unix.EMFILE
		}
		return 0
	})
	obj.mu.Lock()
	_, err := obj.btf.fdLocked(obj.spec.BTF)
	obj.mu.Unlock()
	syscall.SetFaultHook(nil)
	if !errors.Is(err, unix.EMFILE) {
		t.Fatalf("object BTF with BTF_LOAD failing: %v, want EMFILE", err)
	}
	obj.mu.Lock()
	fd, err := obj.btf.fdLocked(obj.spec.BTF)
	obj.mu.Unlock()
	if err != nil || fd <= 0 {
		t.Fatalf("object BTF once BTF_LOAD works again: fd %d, %v", fd, err)
	}

	// A blob the kernel refuses stays refused without asking again.
	var refused objectBTF
	refused.fd = -1
	if _, err := refused.fdLocked([]byte("not BTF")); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("garbage BTF: %v, want EINVAL", err)
	}
	calls := 0
	syscall.SetFaultHook(func(int) unix.Errno { calls++; return 0 })
	refused.fdLocked([]byte("not BTF"))
	syscall.SetFaultHook(nil)
	if calls != 0 {
		t.Errorf("a refused blob was loaded again (%d bpf calls)", calls)
	}
}
