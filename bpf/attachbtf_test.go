package bpf

import (
	"bufio"
	"context"
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/syscall"
)

// trampolineTargets is each trampoline.o program's attach target in the
// kernel's BTF, and whether it needs a BPF trampoline.
var trampolineTargets = []struct {
	prog, target string
	kind         btf.Type
	trampoline   bool
}{
	{"fentry_prog", "do_unlinkat", (*btf.Func)(nil), true},
	{"fexit_prog", "do_unlinkat", (*btf.Func)(nil), true},
	{"fmod_ret_prog", "bpf_modify_return_test", (*btf.Func)(nil), true},
	{"lsm_prog", "bpf_lsm_file_open", (*btf.Func)(nil), true},
	{"iter_prog", "bpf_iter_task", (*btf.Func)(nil), false},
	{"tpbtf_prog", "btf_trace_sched_switch", (*btf.Typedef)(nil), false},
}

// vmlinuxIDOfKind finds name in the kernel's BTF with the kind of the
// typed nil kind.
func vmlinuxIDOfKind(t *testing.T, name string, kind btf.Type) btf.TypeID {
	t.Helper()
	switch kind.(type) {
	case *btf.Func:
		_, id := vmlinuxType[*btf.Func](t, name)
		return id
	case *btf.Typedef:
		_, id := vmlinuxType[*btf.Typedef](t, name)
		return id
	}
	t.Fatalf("no lookup for %T", kind)
	return 0
}

// TestAttachBTFTargets checks the attach target of every BTF-attached
// kind against the kernel's BTF, then loads the programs: the trampoline
// kinds are refused on the test VM, the others load and run.
func TestAttachBTFTargets(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("trampoline.o"), nil)
	for _, tc := range trampolineTargets {
		p := obj.Program(tc.prog)
		if err := p.Err(); err != nil {
			t.Fatalf("%s: %v", tc.prog, err)
		}
		want := vmlinuxIDOfKind(t, tc.target, tc.kind)
		if got := p.AttachBTFID(); got != uint32(want) {
			t.Errorf("%s: attach BTF id %d, kernel's %s is %d", tc.prog, got, tc.target, want)
		}
		if tc.trampoline {
			// Loaded one by one below: Object.Load would roll back all.
			must(t, p.SetLoadType(LoadDynamic))
		}
	}
	must(t, obj.Load(context.Background()))

	for _, tc := range trampolineTargets {
		p := obj.Program(tc.prog)
		if !tc.trampoline {
			info, err := syscall.ProgInfoByFD(p.FD())
			must(t, err)
			if want := vmlinuxIDOfKind(t, tc.target, tc.kind); info.AttachBTFID != uint32(want) {
				t.Errorf("kernel reports %s attached to BTF id %d, want %d", tc.prog, info.AttachBTFID, want)
			}
			continue
		}
		err := p.Load()
		if err == nil {
			// A kernel with trampolines accepts the program: the attach
			// target was right.
			t.Logf("%s loaded: this kernel allows trampolines", tc.prog)
			must(t, p.Unload())
			continue
		}
		if !errors.Is(err, unix.EPERM) || !strings.Contains(err.Error(), "refuses trampoline programs") {
			t.Errorf("%s: %v, want EPERM explained as the kernel refusing trampolines", tc.prog, err)
		}
		if !strings.Contains(err.Error(), tc.target) {
			t.Errorf("%s: error does not name the target %s: %v", tc.prog, tc.target, err)
		}
		if p.FD() != -1 {
			t.Errorf("%s: fd %d after a failed load", tc.prog, p.FD())
		}
	}

	t.Run("tpbtf_prog", func(t *testing.T) {
		link := attach(t, obj.Program("tpbtf_prog"))
		defer link.Close()
		before := readVarU64(t, obj, "sched_switch_hits")
		for range 10 {
			time.Sleep(time.Millisecond) // each sleep switches out and back
		}
		if after := readVarU64(t, obj, "sched_switch_hits"); after <= before {
			t.Errorf("sched_switch_hits %d after 10 sleeps, %d before", after, before)
		}
	})

	t.Run("iter_prog", func(t *testing.T) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		lines := readTaskIter(t, obj.Program("iter_prog"))
		// The iterator runs in the reading thread, which must be listed
		// with its real pid: iter_prog reads task->pid through CO-RE.
		tid := unix.Gettid()
		var found bool
		for _, l := range lines {
			n, err := strconv.Atoi(l)
			if err != nil {
				t.Fatalf("iterator line %q is not a pid", l)
			}
			found = found || n == tid
		}
		if !found {
			t.Errorf("task iterator listed %d tasks, not the reading thread %d", len(lines), tid)
		}
		t.Logf("task iterator listed %d tasks", len(lines))
	})
}

// readTaskIter attaches a task iterator program and reads one pass of
// its output, lines without their newline, from the current thread.
func readTaskIter(t *testing.T, p *Program) []string {
	t.Helper()
	attr := syscall.LinkCreateAttr{ProgFD: uint32(p.FD()), AttachType: uapi.AttachTraceIter}
	linkFD, err := syscall.LinkCreate(&attr)
	if err != nil {
		t.Fatalf("link_create %s: %v", p.Name(), err)
	}
	defer unix.Close(linkFD)
	iterAttr := struct{ linkFD, flags uint32 }{uint32(linkFD), 0}
	fd, _, errno := unix.Syscall(unix.SYS_BPF, uintptr(uapi.CmdIterCreate), uintptr(unsafe.Pointer(&iterAttr)), unsafe.Sizeof(iterAttr))
	if errno != 0 {
		t.Fatalf("BPF_ITER_CREATE: %v", errno)
	}
	f := os.NewFile(fd, "task iterator")
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	must(t, sc.Err())
	return lines
}

// TestAttachTargetMissing resolves trampoline.o against BTF that has none
// of its targets: every program knows at Open why it cannot load.
func TestAttachTargetMissing(t *testing.T) {
	checkNoLeak(t)
	own, err := btf.LoadSpec(testdata("trampoline.o"))
	must(t, err)
	obj := mustOpen(t, testdata("trampoline.o"), &Options{KernelBTF: own})
	for _, tc := range trampolineTargets {
		err := obj.Program(tc.prog).Err()
		if err == nil {
			t.Errorf("%s: no error for target %s, absent from the given BTF", tc.prog, tc.target)
			continue
		}
		if !strings.Contains(err.Error(), tc.target) || !strings.Contains(err.Error(), "not found in kernel BTF") {
			t.Errorf("%s: %v, want it to name %s as not found in kernel BTF", tc.prog, err, tc.target)
		}
		if !errors.Is(err, errKernelTypeNotFound) {
			t.Errorf("%s: %v is not errKernelTypeNotFound", tc.prog, err)
		}
	}
}

// TestLineInfoInVerifierLog checks that line_info reached the kernel: the
// verifier quotes the source line it rejects.
func TestLineInfoInVerifierLog(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("lineinfo.o"), nil)
	err := obj.Load(context.Background())
	var verr *VerifierError
	if !errors.As(err, &verr) {
		t.Fatalf("Load: %v, want a *VerifierError", err)
	}
	if verr.Program != "li_bad" || verr.Errno != unix.EACCES {
		t.Errorf("VerifierError names %q with %v, want li_bad and EACCES", verr.Program, verr.Errno)
	}
	for _, want := range []string{
		"return *(int *)(long)skb->len; /* RAWLOAD_BAD_LINE */",
		"@ lineinfo.c:12",
		"R1 invalid mem access 'scalar'",
	} {
		if !strings.Contains(verr.Log, want) {
			t.Errorf("verifier log lacks %q:\n%s", want, verr.Log)
		}
	}
}
