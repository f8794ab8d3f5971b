package bpf

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestFreplaceTarget resolves an extension program's target in the BTF of
// a program the user loaded: cilium/ebpf's freplace object replaces
// subprog of its sched_process_exec. This kernel refuses the extension
// itself (trampolines get EPERM); the error says so and names the target.
func TestFreplaceTarget(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	path := ciliumTestdata(t, "testdata/freplace-el.elf")
	obj := mustOpen(t, path, nil)
	target, ext := obj.Program("sched_process_exec"), obj.Program("replacement")
	must(t, ext.SetLoadType(LoadDynamic))
	must(t, obj.Load(context.Background()))
	if target.FD() < 0 {
		t.Fatal("target program not loaded")
	}
	if err := target.SetAttachTarget(target.FD(), ""); err == nil {
		t.Fatal("a raw tracepoint program accepted an attach target")
	}
	if err := ext.SetAttachTarget(target.FD(), "no_such_function"); err == nil {
		t.Fatal("a missing target function was accepted")
	}
	must(t, ext.SetAttachTarget(target.FD(), ""))
	want, err := programFuncID(target.FD(), "subprog")
	must(t, err)
	if ext.AttachBTFID() != uint32(want) || want == 0 {
		t.Fatalf("attach BTF id %d, want subprog's id %d in the target's BTF", ext.AttachBTFID(), want)
	}
	err = ext.Load()
	if err == nil {
		// A kernel that allows extensions: the replacement must be live.
		must(t, ext.Unload())
		return
	}
	if !errors.Is(err, unix.EPERM) || !strings.Contains(err.Error(), "refuses trampoline programs") || !strings.Contains(err.Error(), "subprog") {
		t.Fatalf("load: %v, want EPERM explained as a refused trampoline naming subprog", err)
	}
}
