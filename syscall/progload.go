package syscall

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// ProgLoadOptions describes a program to load with ProgLoad.
type ProgLoadOptions struct {
	Type               uint32
	ExpectedAttachType uint32
	// Name goes through ObjName: characters other than [A-Za-z0-9_.] are
	// dropped and the rest cut to 15 bytes.
	Name string
	// Insns are the raw instructions in native byte order; the length is a
	// multiple of 8 (a load-imm64 takes two).
	Insns []byte
	// License ending in a NUL is passed as it is, without a copy.
	License     string
	KernVersion uint32
	Flags       uint32
	// BTFFD is the program's BTF, needed for FuncInfo and LineInfo; 0: none.
	BTFFD           int
	FuncInfo        []byte
	FuncInfoRecSize uint32
	LineInfo        []byte
	LineInfoRecSize uint32
	AttachBTFID     uint32
	AttachBTFObjFD  uint32
	// AttachProgFD is the program an extension or a tracing program attaches
	// to; 0: none. It shares its field with AttachBTFObjFD, so at most one of
	// them may be set.
	AttachProgFD int
	// FDArray holds the fds that PseudoMapIdx, PseudoMapIdxValue and kfunc
	// calls into module BTF refer to by index.
	FDArray []int32
	// BindFDArray also passes len(FDArray) as fd_array_cnt (Linux 6.13+),
	// so the kernel binds every map in FDArray to the program whether or
	// not an instruction uses it. Every entry must then be a map or BTF fd.
	BindFDArray bool
	// LogLevel 0 loads without a log first and logs at LogLevel1 only if
	// that fails; above 0 every attempt logs at this level.
	LogLevel uint32
}

// ProgLoadResult is what ProgLoad returns, also when it fails.
type ProgLoadResult struct {
	FD int // -1 when the load failed
	// Log is the verifier log of the last attempt that had one: after a
	// failure, or after a success at a LogLevel above 0.
	Log string
	// EAGAINRetries counts the loads restarted because a signal interrupted
	// the verifier; each one repeated the verification.
	EAGAINRetries int
}

// ProgLoad loads a program with the log policy of loadWithLog: without a
// log first, with one growing from MinLogSize to MaxLogSize only when
// needed, and restarted on EAGAIN. While the kernel verifies, the signals
// the Go runtime sends to threads by itself are blocked on the loading
// thread so that they do not restart the verification. The error is the
// bare errno of the last attempt, or EINVAL wrapped with the reason when o
// is inconsistent and nothing was sent. A failed load leaves no fd behind.
func ProgLoad(o *ProgLoadOptions) (ProgLoadResult, error) {
	res := ProgLoadResult{FD: -1}
	attr, license, err := o.attr()
	if err != nil {
		return res, err
	}

	fd, log, err := loadWithLog(o.LogLevel, &res.EAGAINRetries, func(level uint32, buf []byte) (fd int, trueSize uint32, err error) {
		attr.LogLevel = level
		attr.LogSize = uint32(len(buf))
		attr.LogBuf = sliceAddr(buf)
		attr.LogTrueSize = 0
		withRuntimeSignalsBlocked(func() {
			fd, err = ProgLoadRaw(&attr)
		})
		runtime.KeepAlive(buf)
		return fd, attr.LogTrueSize, err
	})
	runtime.KeepAlive(o)
	runtime.KeepAlive(license)

	res.Log = log
	if err != nil {
		return res, err
	}
	res.FD = fd
	return res, nil
}

// attr converts o into the attribute struct. The pointers it stores point
// into o's slices and into the returned license buffer, which the caller
// keeps alive until the load is over.
func (o *ProgLoadOptions) attr() (ProgLoadAttr, *byte, error) {
	if len(o.Insns)%8 != 0 {
		return ProgLoadAttr{}, nil, fmt.Errorf("instructions are %d bytes, not a multiple of 8: %w", len(o.Insns), unix.EINVAL)
	}
	if o.AttachProgFD != 0 && o.AttachBTFObjFD != 0 {
		return ProgLoadAttr{}, nil, fmt.Errorf("both AttachProgFD and AttachBTFObjFD set: %w", unix.EINVAL)
	}
	license, licenseAddr, err := cstring(o.License)
	if err != nil {
		return ProgLoadAttr{}, nil, fmt.Errorf("license %q: %w", o.License, err)
	}

	attr := ProgLoadAttr{
		ProgType:           o.Type,
		InsnCnt:            uint32(len(o.Insns) / 8),
		Insns:              sliceAddr(o.Insns),
		License:            licenseAddr,
		KernVersion:        o.KernVersion,
		ProgFlags:          o.Flags,
		ProgName:           ObjName(o.Name),
		ExpectedAttachType: o.ExpectedAttachType,
		ProgBTFFD:          uint32(o.BTFFD),
		AttachBTFID:        o.AttachBTFID,
		AttachBTFObjFD:     o.AttachBTFObjFD,
		FDArray:            sliceAddr(o.FDArray),
	}
	if o.AttachProgFD != 0 {
		attr.AttachBTFObjFD = uint32(o.AttachProgFD)
	}
	if o.BindFDArray {
		attr.FDArrayCnt = uint32(len(o.FDArray))
	}
	attr.FuncInfo, attr.FuncInfoRecSize, attr.FuncInfoCnt, err = records("func info", o.FuncInfo, o.FuncInfoRecSize)
	if err != nil {
		return ProgLoadAttr{}, nil, err
	}
	attr.LineInfo, attr.LineInfoRecSize, attr.LineInfoCnt, err = records("line info", o.LineInfo, o.LineInfoRecSize)
	if err != nil {
		return ProgLoadAttr{}, nil, err
	}
	return attr, license, nil
}

// records returns the address, record size and count of an array of
// records. The kernel ignores an array whose count is 0, so a size that does
// not divide the array is an error here rather than silently dropped info.
func records(what string, b []byte, recSize uint32) (uint64, uint32, uint32, error) {
	if len(b) == 0 {
		return 0, 0, 0, nil
	}
	if recSize == 0 || len(b)%int(recSize) != 0 {
		return 0, 0, 0, fmt.Errorf("%s is %d bytes, not a multiple of the record size %d: %w", what, len(b), recSize, unix.EINVAL)
	}
	return sliceAddr(b), recSize, uint32(len(b) / int(recSize)), nil
}
