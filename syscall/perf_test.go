package syscall

import (
	"errors"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// perfEventAttrLayout is offsetof and sizeof of struct perf_event_attr in
// include/uapi/linux/perf_event.h of Linux 6.18, written out so that a
// field moved or resized shows up as a difference from the kernel's.
var perfEventAttrLayout = []fieldLayout{
	{"type", unsafe.Offsetof(PerfEventAttr{}.Type), 0},
	{"size", unsafe.Offsetof(PerfEventAttr{}.Size), 4},
	{"config", unsafe.Offsetof(PerfEventAttr{}.Config), 8},
	{"sample_period", unsafe.Offsetof(PerfEventAttr{}.SamplePeriod), 16},
	{"sample_type", unsafe.Offsetof(PerfEventAttr{}.SampleType), 24},
	{"read_format", unsafe.Offsetof(PerfEventAttr{}.ReadFormat), 32},
	{"disabled...", unsafe.Offsetof(PerfEventAttr{}.Bits), 40},
	{"wakeup_events", unsafe.Offsetof(PerfEventAttr{}.Wakeup), 48},
	{"bp_type", unsafe.Offsetof(PerfEventAttr{}.BPType), 52},
	{"config1", unsafe.Offsetof(PerfEventAttr{}.Config1), 56},
	{"config2", unsafe.Offsetof(PerfEventAttr{}.Config2), 64},
	{"branch_sample_type", unsafe.Offsetof(PerfEventAttr{}.BranchSampleType), 72},
	{"sample_regs_user", unsafe.Offsetof(PerfEventAttr{}.SampleRegsUser), 80},
	{"sample_stack_user", unsafe.Offsetof(PerfEventAttr{}.SampleStackUser), 88},
	{"clockid", unsafe.Offsetof(PerfEventAttr{}.ClockID), 92},
	{"sample_regs_intr", unsafe.Offsetof(PerfEventAttr{}.SampleRegsIntr), 96},
	{"aux_watermark", unsafe.Offsetof(PerfEventAttr{}.AuxWatermark), 104},
	{"sample_max_stack", unsafe.Offsetof(PerfEventAttr{}.SampleMaxStack), 108},
	{"aux_sample_size", unsafe.Offsetof(PerfEventAttr{}.AuxSampleSize), 112},
	{"aux_action", unsafe.Offsetof(PerfEventAttr{}.AuxAction), 116},
	{"sig_data", unsafe.Offsetof(PerfEventAttr{}.SigData), 120},
	{"config3", unsafe.Offsetof(PerfEventAttr{}.Config3), 128},
}

func TestPerfEventAttrLayout(t *testing.T) {
	const perfAttrSizeVer8 = 136
	if size := unsafe.Sizeof(PerfEventAttr{}); size != perfAttrSizeVer8 {
		t.Errorf("PerfEventAttr: size %d, PERF_ATTR_SIZE_VER8 %d", size, perfAttrSizeVer8)
	}
	for _, f := range perfEventAttrLayout {
		if f.got != f.want {
			t.Errorf("PerfEventAttr.%s: offset %d, UAPI %d", f.uapi, f.got, f.want)
		}
	}
}

// The event bpf/perf opens for each CPU: the kernel accepts the attr at
// its full size, the fd is close-on-exec, and ENABLE and DISABLE reach it.
func TestPerfEventOpenBPFOutput(t *testing.T) {
	kernelTest(t)
	attr := PerfEventAttr{
		Type:       PerfTypeSoftware,
		Config:     PerfCountSWBPFOutput,
		SampleType: PerfSampleRaw,
		Bits:       PerfBitDisabled | PerfBitWatermark,
		Wakeup:     1,
	}
	fd, err := PerfEventOpen(&attr, -1, 0, -1, PerfFlagFDCloexec)
	if err != nil {
		t.Fatalf("perf_event_open: %v", err)
	}
	closeOnCleanup(t, fd)
	if fd < 3 {
		t.Errorf("fd %d, want 3 or more", fd)
	}
	if attr.Size != uint32(unsafe.Sizeof(attr)) {
		t.Errorf("attr.Size %d after open, want %d", attr.Size, unsafe.Sizeof(attr))
	}
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("F_GETFD %#x, %v: want FD_CLOEXEC", flags, err)
	}

	// With no read_format, a read gives the event's count: zero for an
	// event opened disabled that nothing has written to.
	var count [8]byte
	if n, err := unix.Read(fd, count[:]); err != nil || n != 8 || count != [8]byte{} {
		t.Errorf("read of the counter: %d bytes %v, %v; want 8 zero bytes", n, count, err)
	}
	if err := PerfEventEnable(fd); err != nil {
		t.Errorf("enable: %v", err)
	}
	if err := PerfEventDisable(fd); err != nil {
		t.Errorf("disable: %v", err)
	}
}

func TestPerfEventOpenErrno(t *testing.T) {
	kernelTest(t)
	// A CPU number no kernel has: the errno comes back bare.
	attr := PerfEventAttr{Type: PerfTypeSoftware, Config: PerfCountSWBPFOutput, SampleType: PerfSampleRaw}
	fd, err := PerfEventOpen(&attr, -1, 1<<20, -1, PerfFlagFDCloexec)
	if err == nil {
		unix.Close(fd)
		t.Fatal("perf_event_open on CPU 1<<20 succeeded")
	}
	var errno unix.Errno
	if !errors.As(err, &errno) || fd != -1 {
		t.Errorf("fd %d, error %v (%T): want -1 and a unix.Errno", fd, err, err)
	}
	if err := PerfEventEnable(-1); !errors.Is(err, unix.EBADF) {
		t.Errorf("enable of fd -1: %v, want EBADF", err)
	}
}
