package bpf

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/kernel"
	"github.com/rawload/rawload/internal/testutil"
	"github.com/rawload/rawload/syscall"
)

// coreKindsRun loads core.o's programs, test-runs core_kinds and checks
// what the kernel computed with the relocated instructions against the
// kernel's BTF read independently: proof that CO-RE ran against a real
// vmlinux, not that Open merely returned.
func coreKindsRun(t *testing.T, obj *Object) {
	t.Helper()
	task, _ := vmlinuxType[*btf.Struct](t, "task_struct")
	_, sysEnterID := vmlinuxType[*btf.Typedef](t, "btf_trace_sys_enter")
	pid, ok := memberOf(task, "pid")
	if !ok {
		t.Fatal("kernel task_struct has no pid")
	}
	taskSize, err := btf.Sizeof(task)
	must(t, err)

	for _, p := range obj.Programs() {
		if err := p.Err(); err != nil {
			t.Fatalf("program %s: %v", p.Name(), err)
		}
	}
	must(t, obj.Load(context.Background()))
	prog := obj.Program("core_kinds")
	if got := testRun(t, prog); got != 0 {
		t.Fatalf("core_kinds returned %d, want 0", got)
	}
	if got, want := readVarU64(t, obj, "kind_pid_offset"), uint64(pid.Offset.Bytes()); got != want {
		t.Errorf("kind_pid_offset = %d, kernel BTF says %d", got, want)
	}
	if got, want := readVarU64(t, obj, "kind_task_size"), uint64(taskSize); got != want {
		t.Errorf("kind_task_size = %d, kernel BTF says %d", got, want)
	}
	info, err := syscall.ProgInfoByFD(obj.Program("core_tp_btf").FD())
	must(t, err)
	if info.AttachBTFID != uint32(sysEnterID) {
		t.Errorf("kernel reports core_tp_btf attached to BTF id %d, want btf_trace_sys_enter's %d", info.AttachBTFID, sysEnterID)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	must(t, err)
	defer src.Close()
	dst, err := os.Create(to)
	must(t, err)
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		t.Fatal(err)
	}
	must(t, dst.Close())
}

// An Object opened while the kernel's BTF is missing says what is missing;
// once the file is there, the same environment, in the same process, opens
// and loads the object. A failure is never cached.
func TestOpenKernelBTFAppears(t *testing.T) {
	requireKernel(t)
	requireKernelBTF(t)
	checkNoLeak(t)
	dir := t.TempDir()
	env := kernel.New(kernel.Paths{BTFDir: dir})
	missing := filepath.Join(dir, "vmlinux")

	obj, err := Open(testdata("core.o"), &Options{env: env})
	if err != nil {
		t.Fatalf("Open reports a kernel BTF problem per program, at load: %v", err)
	}
	// CO-RE programs and the tp_btf attach target all need vmlinux.
	for _, p := range obj.Programs() {
		err := p.Err()
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
			t.Errorf("program %s without kernel BTF: %v; want an error naming %s", p.Name(), err, missing)
		}
	}
	err = obj.Load(context.Background())
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("Load without kernel BTF: %v; want an error naming %s", err, missing)
	}
	must(t, obj.Close())

	copyFile(t, "/sys/kernel/btf/vmlinux", missing)
	coreKindsRun(t, mustOpen(t, testdata("core.o"), &Options{env: env}))
}

// An Object opened while the process has no fd to spare fails with
// EMFILE, and the same environment opens it once fds are back: the
// failure to read vmlinux BTF was not kept.
func TestOpenEMFILENotCached(t *testing.T) {
	requireKernel(t)
	requireKernelBTF(t)
	checkNoLeak(t)
	data, err := os.ReadFile(testdata("core.o"))
	must(t, err)
	// A fresh Env of the kernel's own files: its vmlinux is still to be
	// read, through btf.LoadKernelSpec.
	env := kernel.New(kernel.Paths{})

	restore := testutil.ExhaustFDs(t)
	obj, err := OpenBytes(data, &Options{env: env})
	restore()
	if err == nil {
		obj.Close()
		t.Fatal("Open succeeded without a free fd")
	}
	if !errors.Is(err, unix.EMFILE) {
		t.Fatalf("Open without a free fd: %v; want EMFILE", err)
	}

	obj, err = OpenBytes(data, &Options{env: env})
	if err != nil {
		t.Fatalf("Open with fds again: %v", err)
	}
	t.Cleanup(func() { obj.Close() })
	coreKindsRun(t, obj)
}
