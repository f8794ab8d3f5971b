package syscall

import (
	"errors"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
)

// fakeLoad plays the kernel for loadWithLog: each attempt pops the next
// outcome and records the level and buffer size it was given. A logged
// attempt writes "log" into its buffer.
type fakeLoad struct {
	outcomes []fakeOutcome
	levels   []uint32
	sizes    []int
}

type fakeOutcome struct {
	fd       int
	trueSize uint32
	err      error
}

func (f *fakeLoad) attempt(level uint32, buf []byte) (int, uint32, error) {
	f.levels = append(f.levels, level)
	f.sizes = append(f.sizes, len(buf))
	copy(buf, "log\x00")
	o := f.outcomes[0]
	if len(f.outcomes) > 1 {
		f.outcomes = f.outcomes[1:]
	}
	if o.err != nil {
		o.fd = -1
	}
	return o.fd, o.trueSize, o.err
}

func TestLoadWithLog(t *testing.T) {
	ok := fakeOutcome{fd: 7}
	for _, tc := range []struct {
		name       string
		level      uint32
		outcomes   []fakeOutcome
		wantFD     int
		wantErr    error
		wantLog    string
		wantLevels []uint32
		wantSizes  []int
		wantEAGAIN int
	}{
		{
			name:     "no log while loads succeed",
			outcomes: []fakeOutcome{ok},
			wantFD:   7, wantLevels: []uint32{0}, wantSizes: []int{0},
		},
		{
			name:     "failure reloads with a log and reports its error",
			outcomes: []fakeOutcome{{err: unix.EINVAL}, {err: unix.EACCES}},
			wantFD:   -1, wantErr: unix.EACCES, wantLog: "log",
			wantLevels: []uint32{0, uapi.LogLevel1}, wantSizes: []int{0, MinLogSize},
		},
		{
			name:     "logged retry that succeeds keeps its fd and log",
			outcomes: []fakeOutcome{{err: unix.EINVAL}, ok},
			wantFD:   7, wantLog: "log",
			wantLevels: []uint32{0, uapi.LogLevel1}, wantSizes: []int{0, MinLogSize},
		},
		{
			name:     "a level logs from the first attempt",
			level:    uapi.LogLevel2,
			outcomes: []fakeOutcome{ok},
			wantFD:   7, wantLog: "log", wantLevels: []uint32{uapi.LogLevel2}, wantSizes: []int{MinLogSize},
		},
		{
			name:     "grows to the size the kernel reports",
			level:    uapi.LogLevel1,
			outcomes: []fakeOutcome{{err: unix.ENOSPC, trueSize: 100_000}, ok},
			wantFD:   7, wantLog: "log",
			wantLevels: []uint32{uapi.LogLevel1, uapi.LogLevel1}, wantSizes: []int{MinLogSize, 100_000},
		},
		{
			name:     "grows fourfold without a reported size, up to the limit",
			level:    uapi.LogLevel1,
			outcomes: []fakeOutcome{{err: unix.ENOSPC}},
			wantFD:   -1, wantErr: unix.ENOSPC, wantLog: "log",
			wantLevels: []uint32{1, 1, 1, 1, 1},
			wantSizes:  []int{64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20},
		},
		{
			name:     "a reported size past the limit is cut to it",
			level:    uapi.LogLevel1,
			outcomes: []fakeOutcome{{err: unix.ENOSPC, trueSize: 1 << 30}},
			wantFD:   -1, wantErr: unix.ENOSPC, wantLog: "log",
			wantLevels: []uint32{1, 1}, wantSizes: []int{MinLogSize, MaxLogSize},
		},
		{
			name:     "EAGAIN restarts the same attempt",
			outcomes: []fakeOutcome{{err: unix.EAGAIN}, {err: unix.EAGAIN}, ok},
			wantFD:   7, wantLevels: []uint32{0, 0, 0}, wantSizes: []int{0, 0, 0}, wantEAGAIN: 2,
		},
		{
			name:     "EAGAIN restarts are bounded over the whole load",
			outcomes: []fakeOutcome{{err: unix.EAGAIN}},
			wantFD:   -1, wantErr: unix.EAGAIN, wantLog: "log",
			wantLevels: append(slices.Repeat([]uint32{0}, MaxEAGAINRetries+1), uapi.LogLevel1),
			wantSizes:  append(slices.Repeat([]int{0}, MaxEAGAINRetries+1), MinLogSize),
			wantEAGAIN: MaxEAGAINRetries,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeLoad{outcomes: tc.outcomes}
			var restarts int
			fd, log, err := loadWithLog(tc.level, &restarts, f.attempt)
			if fd != tc.wantFD || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Errorf("fd %d, error %v; want %d, %v", fd, err, tc.wantFD, tc.wantErr)
			}
			if log != tc.wantLog {
				t.Errorf("log %q, want %q", log, tc.wantLog)
			}
			if !slices.Equal(f.levels, tc.wantLevels) || !slices.Equal(f.sizes, tc.wantSizes) {
				t.Errorf("attempts at levels %v sizes %v, want %v %v", f.levels, f.sizes, tc.wantLevels, tc.wantSizes)
			}
			if restarts != tc.wantEAGAIN {
				t.Errorf("%d EAGAIN restarts, want %d", restarts, tc.wantEAGAIN)
			}
		})
	}
}
