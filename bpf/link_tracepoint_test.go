package bpf

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/syscall"
)

// openAttachTracing opens testdata/attach_tracing.o with every program
// Dynamic, so that a test loads only those it attaches, and with
// target_tid set to tid: the kernel hooks count only that thread.
func openAttachTracing(t *testing.T, tid int) *Object {
	t.Helper()
	obj := mustOpen(t, testdata("attach_tracing.o"), nil)
	for _, p := range obj.Programs() {
		must(t, p.SetLoadType(LoadDynamic))
	}
	v, err := obj.Variable("target_tid")
	must(t, err)
	must(t, v.Write(u32(uint32(tid))))
	must(t, obj.Load(context.Background()))
	return obj
}

// loadProgram loads one program of obj.
func loadProgram(t *testing.T, obj *Object, name string) *Program {
	t.Helper()
	p := obj.Program(name)
	if p == nil {
		t.Fatalf("no program %s", name)
	}
	must(t, p.Load())
	return p
}

// lockThread runs the rest of the test on one OS thread and returns its
// tid: the syscalls the test makes to fire a hook come from that thread.
func lockThread(t *testing.T) int {
	t.Helper()
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
	return unix.Gettid()
}

// rawGetpid calls getpid(2) itself, never a cached value.
func rawGetpid() {
	unix.RawSyscall(unix.SYS_GETPID, 0, 0, 0)
}

// warmPoller makes the runtime's poller fds (epoll, eventfd), which it
// keeps for the life of the process, before a test counts fds: os/exec
// and os.Pipe make them the first time.
func warmPoller(t *testing.T) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	w.Close()
}

// requireTracefs skips where tracefs is neither mounted nor mountable.
func requireTracefs(t *testing.T) string {
	t.Helper()
	dir, err := tracefs()
	if err != nil {
		t.Skipf("no tracefs: %v", err)
	}
	return dir
}

// TestTracepoint attaches tp/syscalls/sys_enter_getpid with a cookie and
// counts exactly the getpid calls of this thread; closed, the link stops
// the counting.
func TestTracepoint(t *testing.T) {
	requireKernel(t)
	requireTracefs(t)
	checkNoLeak(t)
	tid := lockThread(t)
	obj := openAttachTracing(t, tid)
	prog := loadProgram(t, obj, "tp_getpid_tid")

	link, err := prog.AttachWith(AttachOptions{Cookie: 0xfeed})
	must(t, err)
	if link.Kind != "tracepoint" || link.Target != "syscalls/sys_enter_getpid" {
		t.Errorf("link %s on %s, want tracepoint on syscalls/sys_enter_getpid", link.Kind, link.Target)
	}
	info, err := link.Info()
	must(t, err)
	if info.Type != 7 { // BPF_LINK_TYPE_PERF_EVENT
		t.Errorf("link type %d, want BPF_LINK_TYPE_PERF_EVENT (7)", info.Type)
	}
	const n = 37
	for range n {
		rawGetpid()
	}
	if got := readVarU64(t, obj, "tp_hits"); got != n {
		t.Errorf("tp_hits = %d after %d getpid calls, want exactly %d", got, n, n)
	}
	if got := readVarU64(t, obj, "tp_cookie"); got != 0xfeed {
		t.Errorf("cookie %#x, want 0xfeed", got)
	}
	must(t, link.Close())
	for range n {
		rawGetpid()
	}
	if got := readVarU64(t, obj, "tp_hits"); got != n {
		t.Errorf("tp_hits = %d after the link closed, want it to stay %d", got, n)
	}
}

// TestTracepointTraceObject attaches trace.o's tracepoint/ section, which
// counts the getpid calls of the whole process: at least those made.
func TestTracepointTraceObject(t *testing.T) {
	requireKernel(t)
	requireTracefs(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("trace.o"), nil)
	v, err := obj.Variable("target_pid")
	must(t, err)
	must(t, v.Write(u32(uint32(unix.Getpid()))))
	for _, p := range obj.Programs() {
		if p.Name() != "tp_getpid" {
			must(t, p.SetLoadType(LoadDisabled))
		}
	}
	must(t, obj.Load(context.Background()))
	link, err := obj.Program("tp_getpid").Attach()
	must(t, err)
	defer link.Close()
	const n = 20
	for range n {
		rawGetpid()
	}
	// The Go runtime calls getpid too (to signal its threads).
	if got := readVarU64(t, obj, "getpid_hits"); got < n || got > n+10 {
		t.Errorf("getpid_hits = %d after %d getpid calls", got, n)
	}
}

// TestTracepointReload reloads a program on a tracepoint between bursts
// of getpid calls: the link follows each instance and no call is lost.
func TestTracepointReload(t *testing.T) {
	requireKernel(t)
	requireTracefs(t)
	checkNoLeak(t)
	tid := lockThread(t)
	obj := openAttachTracing(t, tid)
	prog := loadProgram(t, obj, "tp_getpid_tid")
	link, err := prog.Attach()
	must(t, err)
	defer link.Close()
	total := 0
	for i := range 5 {
		for range 10 + i {
			rawGetpid()
		}
		total += 10 + i
		must(t, prog.Reload())
	}
	rawGetpid()
	total++
	if got := readVarU64(t, obj, "tp_hits"); got != uint64(total) {
		t.Errorf("tp_hits = %d, want %d across 5 reloads", got, total)
	}
	info, err := link.Info()
	must(t, err)
	pinfo, err := progInfo(prog)
	must(t, err)
	if info.ProgID != pinfo {
		t.Errorf("the link runs program %d, the loaded instance is %d", info.ProgID, pinfo)
	}
}

// TestTracepointMissing names what is missing: a tracepoint the kernel
// has not, a target that is not GROUP/NAME, a name that would be a path.
func TestTracepointMissing(t *testing.T) {
	requireKernel(t)
	requireTracefs(t)
	checkNoLeak(t)
	obj := openAttachTracing(t, 0)
	prog := loadProgram(t, obj, "tp_getpid_tid")

	_, err := prog.AttachWith(AttachOptions{Target: "syscalls/sys_enter_no_such_call"})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "no tracepoint syscalls/sys_enter_no_such_call") ||
		!strings.Contains(err.Error(), "program tp_getpid_tid: ") {
		t.Errorf("missing tracepoint: %v", err)
	}
	for _, bad := range []string{"nogroup", "../../x/y", "syscalls/..", "a/b c"} {
		if _, err := prog.AttachWith(AttachOptions{Target: bad}); err == nil {
			t.Errorf("target %q accepted", bad)
		}
	}
}

func TestFindTracefs(t *testing.T) {
	dir := t.TempDir()
	write := func(text string) string {
		path := filepath.Join(dir, "mounts")
		must(t, os.WriteFile(path, []byte(text), 0o600))
		return path
	}
	table := write("sysfs /sys sysfs rw 0 0\ntracefs /mnt/my\\040trace tracefs rw 0 0\n")
	got, err := findTracefs(table)
	must(t, err)
	if got != "/mnt/my trace" {
		t.Errorf("found %q, want /mnt/my trace", got)
	}
	// Only a debugfs with tracing inside counts.
	debug := filepath.Join(dir, "debug")
	must(t, os.MkdirAll(filepath.Join(debug, "tracing", "events"), 0o700))
	table = write("debugfs " + debug + " debugfs rw 0 0\n")
	if got, err = findTracefs(table); err != nil || got != filepath.Join(debug, "tracing") {
		t.Errorf("debugfs: %q, %v", got, err)
	}
	table = write("proc /proc proc rw 0 0\n")
	if got, err = findTracefs(table); err != nil || got != "" {
		t.Errorf("none mounted: %q, %v", got, err)
	}
}

// progInfo is the kernel's id of the program's loaded instance.
func progInfo(p *Program) (uint32, error) {
	info, err := syscall.ProgInfoByFD(p.FD())
	if err != nil {
		return 0, err
	}
	return info.ID, nil
}
