package syscall

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Numbers of include/uapi/linux/perf_event.h that rawload uses.
const (
	// PerfTypeSoftware is PERF_TYPE_SOFTWARE, a PerfEventAttr.Type.
	PerfTypeSoftware = 1
	// PerfCountSWBPFOutput is PERF_COUNT_SW_BPF_OUTPUT: the software
	// event bpf_perf_event_output writes to, a PerfEventAttr.Config.
	PerfCountSWBPFOutput = 10
	// PerfSampleRaw is PERF_SAMPLE_RAW, a PerfEventAttr.SampleType bit:
	// samples carry the bytes the program passed.
	PerfSampleRaw = 1 << 10

	// PerfRecordLost is PERF_RECORD_LOST: the ring had no room for a
	// number of records.
	PerfRecordLost = 2
	// PerfRecordSample is PERF_RECORD_SAMPLE.
	PerfRecordSample = 9

	// PerfFlagFDCloexec is PERF_FLAG_FD_CLOEXEC, for PerfEventOpen.
	PerfFlagFDCloexec = unix.PERF_FLAG_FD_CLOEXEC
)

// Bits of PerfEventAttr.Bits. C bitfields start at the least significant
// bit on little-endian targets and at the most significant on big-endian
// ones; x/sys has the right mask for each architecture.
const (
	// PerfBitDisabled opens the event disabled, to be enabled with
	// PerfEventEnable once its ring is mapped.
	PerfBitDisabled = unix.PerfBitDisabled
	// PerfBitWatermark makes PerfEventAttr.Wakeup a number of bytes
	// (wakeup_watermark) rather than of events (wakeup_events).
	PerfBitWatermark = unix.PerfBitWatermark
)

// PerfEventAttr is struct perf_event_attr of PERF_ATTR_SIZE_VER8 (136
// bytes, Linux 6.3). A kernel with a shorter struct accepts it as long as
// the fields it does not know are zero. Unions are named for the member
// rawload uses, with the others in the comment.
type PerfEventAttr struct {
	Type   uint32
	Size   uint32
	Config uint64
	// SamplePeriod is sample_period or, with the freq bit, sample_freq.
	SamplePeriod uint64
	SampleType   uint64
	ReadFormat   uint64
	// Bits are the flag bitfields: disabled, inherit, ..., watermark, ...
	Bits uint64
	// Wakeup is wakeup_events, or wakeup_watermark (in bytes) with
	// PerfBitWatermark.
	Wakeup uint32
	BPType uint32
	// Config1 is also bp_addr, kprobe_func and uprobe_path.
	Config1 uint64
	// Config2 is also bp_len, kprobe_addr and probe_offset.
	Config2          uint64
	BranchSampleType uint64
	SampleRegsUser   uint64
	SampleStackUser  uint32
	ClockID          int32
	SampleRegsIntr   uint64
	AuxWatermark     uint32
	SampleMaxStack   uint16
	_                uint16
	AuxSampleSize    uint32
	// AuxAction holds the aux_start_paused, aux_pause and aux_resume
	// bits (Linux 6.13); reserved before.
	AuxAction uint32
	SigData   uint64
	Config3   uint64
}

// PerfEventOpen opens a perf event and returns its fd, numbered 3 or
// more. attr.Size is filled in when zero. pid -1 with a cpu counts every
// task on that cpu; groupFD -1 opens no group.
func PerfEventOpen(attr *PerfEventAttr, pid, cpu, groupFD int, flags uint) (int, error) {
	if attr.Size == 0 {
		attr.Size = uint32(unsafe.Sizeof(*attr))
	}
	r, _, errno := unix.Syscall6(unix.SYS_PERF_EVENT_OPEN, uintptr(unsafe.Pointer(attr)),
		uintptr(pid), uintptr(cpu), uintptr(groupFD), uintptr(flags), 0)
	runtime.KeepAlive(attr)
	if errno != 0 {
		return -1, errno
	}
	return goodFD(int(r))
}

// PerfEventEnable starts a perf event opened with PerfBitDisabled.
func PerfEventEnable(fd int) error {
	return perfIoctl(fd, unix.PERF_EVENT_IOC_ENABLE)
}

// PerfEventDisable stops a perf event; its ring stays mapped and readable.
func PerfEventDisable(fd int) error {
	return perfIoctl(fd, unix.PERF_EVENT_IOC_DISABLE)
}

func perfIoctl(fd int, req uint) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), 0)
	if errno != 0 {
		return errno
	}
	return nil
}
