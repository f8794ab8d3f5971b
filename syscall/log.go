package syscall

import (
	"errors"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
)

const (
	// MinLogSize is the first log buffer tried. It holds the log of a
	// typical failure at LogLevel1, which is mostly what gets logged.
	MinLogSize = 64 << 10
	// MaxLogSize bounds the buffer a load will grow to. Past it the load
	// fails with ENOSPC and the log holds what fitted.
	MaxLogSize = 16 << 20
	// MaxEAGAINRetries bounds the restarts of one load after the verifier
	// was interrupted by a signal.
	MaxEAGAINRetries = 10
)

// loadAttempt makes one load with a verifier log of the given level in buf
// (level 0 and nil buf: no log). It returns the new fd, the log size the
// kernel reports it needed (0 if it does not report it), and the error.
type loadAttempt func(level uint32, buf []byte) (fd int, trueSize uint32, err error)

// loadWithLog runs the log policy shared by BPF_PROG_LOAD and BPF_BTF_LOAD.
//
// A log is only worth its cost when something failed: at level 0 the first
// attempt has no log, and only a failure loads again with LogLevel1 to
// explain itself, so the error returned is that of the logged attempt. At a
// level above 0 every attempt is logged. A log that does not fit fails the
// load with ENOSPC, even when the program itself verified, so the load is
// repeated with a larger buffer: the size the kernel reports it needed
// (Linux 6.4+), else four times the last, up to MaxLogSize.
//
// EAGAIN means a signal interrupted the kernel; the attempt is repeated, at
// most MaxEAGAINRetries times over the whole load, and *restarts counts the
// repetitions.
func loadWithLog(level uint32, restarts *int, attempt loadAttempt) (int, string, error) {
	try := func(level uint32, buf []byte) (int, uint32, error) {
		for {
			fd, trueSize, err := attempt(level, buf)
			if !errors.Is(err, unix.EAGAIN) || *restarts >= MaxEAGAINRetries {
				return fd, trueSize, err
			}
			*restarts++
		}
	}

	if level == 0 {
		fd, _, err := try(0, nil)
		if err == nil {
			return fd, "", nil
		}
		level = uapi.LogLevel1
	}

	for size := MinLogSize; ; {
		buf := make([]byte, size)
		fd, trueSize, err := try(level, buf)
		if !errors.Is(err, unix.ENOSPC) || size >= MaxLogSize {
			return fd, unix.ByteSliceToString(buf), err
		}
		size = nextLogSize(size, trueSize)
	}
}

// nextLogSize is the buffer size to try after one of size was too small.
func nextLogSize(size int, trueSize uint32) int {
	next := size * 4
	if int(trueSize) > size {
		next = int(trueSize)
	}
	return min(next, MaxLogSize)
}
