package syscall

import (
	"runtime"
	"unsafe"

	"github.com/rawload/rawload/internal/uapi"
)

// progTestRunAttr is the test member of union bpf_attr.
type progTestRunAttr struct {
	ProgFD      uint32
	Retval      uint32
	DataSizeIn  uint32
	DataSizeOut uint32
	DataIn      uint64
	DataOut     uint64
	Repeat      uint32
	Duration    uint32
	CtxSizeIn   uint32
	CtxSizeOut  uint32
	CtxIn       uint64
	CtxOut      uint64
	Flags       uint32
	CPU         uint32
	BatchSize   uint32
	_           uint32
}

// ProgTestRunOptions describes one BPF_PROG_TEST_RUN.
type ProgTestRunOptions struct {
	ProgFD int
	// DataIn is the packet (or other input) the program runs on; DataOut,
	// if not nil, receives the data as the program left it.
	DataIn, DataOut []byte
	// CtxIn is the context the program runs with; CtxOut, if not nil,
	// receives the context as the program left it.
	CtxIn, CtxOut []byte
	Repeat        uint32
	Flags         uint32
	CPU           uint32
	BatchSize     uint32
}

// ProgTestRunResult is what the kernel reports after a test run.
type ProgTestRunResult struct {
	Retval   uint32
	Duration uint32 // mean ns per repetition
	// DataSizeOut and CtxSizeOut are the sizes of the output. When one
	// exceeds its buffer, the buffer holds what fitted and the run fails
	// with ENOSPC.
	DataSizeOut uint32
	CtxSizeOut  uint32
}

// ProgTestRun runs a program in the kernel on the given input. A run with
// Repeat above 1 fails with EINTR if a signal arrives between repetitions.
func ProgTestRun(o *ProgTestRunOptions) (ProgTestRunResult, error) {
	attr := progTestRunAttr{
		ProgFD:      uint32(o.ProgFD),
		DataSizeIn:  uint32(len(o.DataIn)),
		DataSizeOut: uint32(len(o.DataOut)),
		DataIn:      sliceAddr(o.DataIn),
		DataOut:     sliceAddr(o.DataOut),
		Repeat:      o.Repeat,
		CtxSizeIn:   uint32(len(o.CtxIn)),
		CtxSizeOut:  uint32(len(o.CtxOut)),
		CtxIn:       sliceAddr(o.CtxIn),
		CtxOut:      sliceAddr(o.CtxOut),
		Flags:       o.Flags,
		CPU:         o.CPU,
		BatchSize:   o.BatchSize,
	}
	_, err := bpf(uapi.CmdProgTestRun, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(o)
	res := ProgTestRunResult{
		Retval:      attr.Retval,
		Duration:    attr.Duration,
		DataSizeOut: attr.DataSizeOut,
		CtxSizeOut:  attr.CtxSizeOut,
	}
	return res, err
}
