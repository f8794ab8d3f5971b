package syscall

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// More numbers of include/uapi/linux/perf_event.h, for the perf events
// that programs attach to.
const (
	// PerfTypeHardware is PERF_TYPE_HARDWARE.
	PerfTypeHardware = 0
	// PerfTypeTracepoint is PERF_TYPE_TRACEPOINT: Config is the id of
	// a tracefs event (events/GROUP/NAME/id).
	PerfTypeTracepoint = 2
	// PerfTypeBreakpoint is PERF_TYPE_BREAKPOINT: a hardware breakpoint
	// at Config1 (bp_addr), Config2 (bp_len) bytes long, of BPType.
	PerfTypeBreakpoint = 5

	// PerfCountSWCPUClock is PERF_COUNT_SW_CPU_CLOCK, a Config of
	// PerfTypeSoftware: the CPU's clock, in nanoseconds.
	PerfCountSWCPUClock = 0

	// HWBreakpointW is HW_BREAKPOINT_W, a BPType: a write to the address.
	HWBreakpointW = 2
	// HWBreakpointLen8 is HW_BREAKPOINT_LEN_8, a Config2 of a breakpoint.
	HWBreakpointLen8 = 8

	// PerfBitExcludeKernel is exclude_kernel, a PerfEventAttr.Bits bit.
	PerfBitExcludeKernel = unix.PerfBitExcludeKernel
	// PerfBitExcludeHv is exclude_hv, a PerfEventAttr.Bits bit.
	PerfBitExcludeHv = unix.PerfBitExcludeHv
)

// PerfEventSetBPF attaches a program to a perf event the old way (before
// BPF links on perf events, Linux 5.15): PERF_EVENT_IOC_SET_BPF. The
// program runs until the event's fd closes.
func PerfEventSetBPF(perfFD, progFD int) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(perfFD), uintptr(unix.PERF_EVENT_IOC_SET_BPF), uintptr(progFD))
	if errno != 0 {
		return errno
	}
	return nil
}

// PerfProbeOpen opens a probe of a dynamic PMU, kprobe or uprobe: attr
// gets name as its Config1 (kprobe_func or uprobe_path), a pointer that
// PerfProbeOpen keeps alive for the call; the caller fills the rest
// (Type, Config with the retprobe bit and ref_ctr_offset, Config2 with the
// offset).
func PerfProbeOpen(attr *PerfEventAttr, name string, pid, cpu int, flags uint) (int, error) {
	p, ptr, err := cstring(name)
	if err != nil {
		return -1, err
	}
	attr.Config1 = ptr
	fd, err := PerfEventOpen(attr, pid, cpu, -1, flags)
	runtime.KeepAlive(p)
	attr.Config1 = 0
	return fd, err
}
