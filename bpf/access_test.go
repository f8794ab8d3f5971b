package bpf

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/syscall"
)

func TestCheckAccess(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	must(t, CheckAccess())
	syscall.SetFaultHook(func(int) unix.Errno { return unix.EPERM })
	err := CheckAccess()
	syscall.SetFaultHook(nil)
	if !errors.Is(err, ErrNoPermission) || !errors.Is(err, unix.EPERM) {
		t.Fatalf("CheckAccess without permission: %v", err)
	}
}
