package bpf

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/syscall"
)

// watched is the word a hardware breakpoint watches in
// TestPerfEventBreakpoint.
var watched uint64

// openBreakpoint opens a perf event that overflows at every write of
// this thread to watched: a sampling event whose count is exact.
func openBreakpoint(t *testing.T) int {
	t.Helper()
	attr := syscall.PerfEventAttr{
		Type:         syscall.PerfTypeBreakpoint,
		BPType:       syscall.HWBreakpointW,
		Config1:      uint64(uintptr(unsafe.Pointer(&watched))),
		Config2:      syscall.HWBreakpointLen8,
		SamplePeriod: 1,
		Bits:         syscall.PerfBitExcludeKernel | syscall.PerfBitExcludeHv,
	}
	fd, err := syscall.PerfEventOpen(&attr, 0, -1, -1, syscall.PerfFlagFDCloexec)
	if err != nil {
		t.Skipf("no hardware breakpoint perf event here: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// TestPerfEventBreakpoint attaches a perf_event program to a perf event
// the test opened, a hardware breakpoint on a variable: the program runs
// once per write, exactly. The link does not own the event: closing it
// detaches the program and leaves the event open.
func TestPerfEventBreakpoint(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	lockThread(t)
	obj := openAttachTracing(t, 0)
	p := loadProgram(t, obj, "perf_count")
	fd := openBreakpoint(t)
	l, err := p.AttachWith(AttachOptions{PerfEvent: fd})
	must(t, err)
	info, err := l.Info()
	must(t, err)
	if info.Type != uapi.LinkTypePerfEvent || l.Kind != "perf_event" {
		t.Errorf("link %s of type %d", l.Kind, info.Type)
	}
	const n = 25
	for range n {
		atomic.AddUint64(&watched, 1)
	}
	if got := readVarU64(t, obj, "perf_hits"); got != n {
		t.Errorf("perf_hits = %d after %d writes, want %d", got, n, n)
	}
	// A perf event runs one program: a reload cannot attach the new
	// instance beside the old, so it fails and the old one runs on.
	if err := p.Reload(); err == nil {
		t.Error("a program on a perf event reloaded")
	}
	atomic.AddUint64(&watched, 1)
	if got := readVarU64(t, obj, "perf_hits"); got != n+1 {
		t.Errorf("perf_hits = %d after a failed reload, want %d", got, n+1)
	}
	must(t, l.Close())
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
		t.Errorf("the caller's perf event was closed with the link: %v", err)
	}
	atomic.AddUint64(&watched, 1)
	if got := readVarU64(t, obj, "perf_hits"); got != n+1 {
		t.Errorf("perf_hits = %d after the link closed, want %d", got, n+1)
	}
	// Attached again to the same event, now free.
	l, err = p.AttachWith(AttachOptions{PerfEvent: fd})
	must(t, err)
	defer l.Close()
	if _, err := p.AttachWith(AttachOptions{PerfEvent: fd}); !errors.Is(err, unix.EEXIST) {
		t.Errorf("a second program on one perf event: %v, want EEXIST", err)
	}
}

// TestPerfEventCPUClock attaches to a software CPU clock event sampling
// this thread every 100 µs: the program runs while the thread works.
func TestPerfEventCPUClock(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	lockThread(t)
	obj := openAttachTracing(t, 0)
	p := loadProgram(t, obj, "perf_count")
	attr := syscall.PerfEventAttr{Type: syscall.PerfTypeSoftware, Config: syscall.PerfCountSWCPUClock, SamplePeriod: 100_000}
	fd, err := syscall.PerfEventOpen(&attr, 0, -1, -1, syscall.PerfFlagFDCloexec)
	must(t, err)
	defer unix.Close(fd)
	l, err := p.AttachWith(AttachOptions{PerfEvent: fd})
	must(t, err)
	defer l.Close()
	for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end) && readVarU64(t, obj, "perf_hits") < 10; {
	}
	if got := readVarU64(t, obj, "perf_hits"); got == 0 {
		t.Error("perf_hits = 0 after 50 ms of work sampled every 100 µs")
	}
}

// TestPerfEventMissing: a perf_event program needs a perf event.
func TestPerfEventMissing(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := openAttachTracing(t, 0)
	p := loadProgram(t, obj, "perf_count")
	if _, err := p.Attach(); !errors.Is(err, ErrAttachTargetMissing) {
		t.Errorf("no perf event: %v", err)
	}
	devNull, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	must(t, err)
	defer unix.Close(devNull)
	if _, err := p.AttachWith(AttachOptions{PerfEvent: devNull}); err == nil {
		t.Error("attached to /dev/null")
	}
}
