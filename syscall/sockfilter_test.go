package syscall

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
)

func TestSocketFilterAttachDetach(t *testing.T) {
	kernelTest(t)
	prog, _ := loadProg(t, &ProgLoadOptions{
		Type:    uapi.ProgTypeSocketFilter,
		Name:    "keep_none",
		Insns:   asm(movImm(0, 0), exit()),
		License: "GPL",
	})
	sock := closeOnCleanup(t, mustFD(t)(unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)))

	if err := DetachSocketFilter(sock); !errors.Is(err, unix.ENOENT) {
		t.Errorf("detach with no filter: %v, want ENOENT", err)
	}
	if err := AttachSocketFilter(sock, prog); err != nil {
		t.Fatal(err)
	}
	// A second attach replaces the first.
	if err := AttachSocketFilter(sock, prog); err != nil {
		t.Fatal(err)
	}
	if err := DetachSocketFilter(sock); err != nil {
		t.Errorf("detach: %v", err)
	}
	var pipe [2]int
	if err := unix.Pipe2(pipe[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, pipe[0])
	closeOnCleanup(t, pipe[1])
	if err := AttachSocketFilter(pipe[0], prog); !errors.Is(err, unix.ENOTSOCK) {
		t.Errorf("attach to a pipe: %v, want ENOTSOCK", err)
	}
}
