package testutil

import (
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestOpenFDs(t *testing.T) {
	before := OpenFDs(t)
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	if got := OpenFDs(t); got != before+1 {
		t.Errorf("%d fds with one more open, %d before", got, before)
	}
	if target := FDs(t)[int(f.Fd())]; target != os.DevNull {
		t.Errorf("fd %d is %q, want %s", f.Fd(), target, os.DevNull)
	}
	f.Close()
	if got := OpenFDs(t); got != before {
		t.Errorf("%d fds after closing, %d before", got, before)
	}
}

func TestExhaustFDs(t *testing.T) {
	var saved unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &saved); err != nil {
		t.Fatal(err)
	}
	restore := ExhaustFDs(t)
	_, openErr := os.Open(os.DevNull)
	_, dupErr := unix.Dup(0)
	restore()
	restore() // a second call, and the cleanup, change nothing
	if !errors.Is(openErr, unix.EMFILE) || !errors.Is(dupErr, unix.EMFILE) {
		t.Errorf("with fds exhausted: open %v, dup %v; want EMFILE", openErr, dupErr)
	}
	var now unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &now); err != nil {
		t.Fatal(err)
	}
	if now != saved {
		t.Errorf("RLIMIT_NOFILE %+v after restore, %+v before", now, saved)
	}
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatalf("after restore: %v", err)
	}
	f.Close()
}

func TestCiliumDir(t *testing.T) {
	dir, err := CiliumDir()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dir, "github.com/cilium/ebpf@") {
		t.Errorf("cilium/ebpf at %s", dir)
	}
	if _, err := os.Stat(dir + "/btf/testdata/btf_testmod.btf"); err != nil {
		t.Error(err)
	}
}
