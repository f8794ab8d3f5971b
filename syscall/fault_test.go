package syscall

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
)

var arrayAttr = MapCreateAttr{MapType: uapi.MapTypeArray, KeySize: 4, ValueSize: 4, MaxEntries: 1}

func TestFaultHook(t *testing.T) {
	kernelTest(t)
	var seen []int
	SetFaultHook(func(cmd int) unix.Errno {
		seen = append(seen, cmd)
		if cmd == uapi.CmdMapCreate {
			return unix.ENOMEM
		}
		return 0
	})
	_, err := MapCreate(&arrayAttr)
	SetFaultHook(nil)
	if !errors.Is(err, unix.ENOMEM) {
		t.Fatalf("MapCreate with an injected ENOMEM: %v", err)
	}
	if len(seen) != 1 || seen[0] != uapi.CmdMapCreate {
		t.Errorf("hook saw commands %v", seen)
	}
	fd, err := MapCreate(&arrayAttr)
	if err != nil {
		t.Fatalf("MapCreate after the hook is gone: %v", err)
	}
	unix.Close(fd)
}

// TestNoFDBelowThree closes stdin, as daemons do, and checks that a bpf
// fd never takes its number: the kernel reads fd 0 as "none" in btf_fd
// and attach_btf_obj_fd.
func TestNoFDBelowThree(t *testing.T) {
	kernelTest(t)
	saved, err := unix.FcntlInt(0, unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		t.Skipf("no stdin to move away: %v", err)
	}
	unix.Close(0)
	defer func() {
		unix.Dup3(saved, 0, 0)
		unix.Close(saved)
	}()
	fd, err := MapCreate(&arrayAttr)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if fd < 3 {
		t.Fatalf("MapCreate returned fd %d with stdin closed", fd)
	}
	var st unix.Stat_t
	if err := unix.Fstat(0, &st); !errors.Is(err, unix.EBADF) {
		t.Errorf("fd 0 is open after MapCreate (%v): the kernel's fd was not closed", err)
	}
}
