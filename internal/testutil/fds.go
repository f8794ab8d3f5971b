package testutil

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// OpenFDs counts the process's open fds. It reads /proc/self/fd with raw
// syscalls, so that counting opens nothing the runtime keeps, and leaves
// out the fd it reads through.
func OpenFDs(tb testing.TB) int {
	tb.Helper()
	n := 0
	if err := eachFD(func(string) { n++ }); err != nil {
		tb.Fatalf("counting fds: %v", err)
	}
	return n
}

// FDs returns the process's open fds, each with what it refers to
// ("anon_inode:bpf-map", "/dev/null"), to name what a leak is.
func FDs(tb testing.TB) map[int]string {
	tb.Helper()
	fds := make(map[int]string)
	var names []string
	if err := eachFD(func(name string) { names = append(names, name) }); err != nil {
		tb.Fatalf("listing fds: %v", err)
	}
	for _, name := range names {
		fd, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		// An fd closed since the listing has no link; it is left out.
		target, err := os.Readlink(filepath.Join("/proc/self/fd", name))
		if err != nil {
			continue
		}
		fds[fd] = target
	}
	return fds
}

// eachFD calls f with the name of every entry of /proc/self/fd but the
// one it reads through.
func eachFD(f func(name string)) error {
	dir, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(dir)
	self := strconv.Itoa(dir)
	buf := make([]byte, 4096)
	for {
		size, err := unix.ReadDirent(dir, buf)
		if err != nil {
			return err
		}
		if size == 0 {
			return nil
		}
		var names []string
		_, _, names = unix.ParseDirent(buf[:size], -1, names)
		for _, name := range names {
			if name != self {
				f(name)
			}
		}
	}
}

// CheckNoLeak fails tb if the process ends it with more or fewer fds than
// it started with.
func CheckNoLeak(tb testing.TB) {
	tb.Helper()
	before := OpenFDs(tb)
	tb.Cleanup(func() {
		if after := OpenFDs(tb); after != before {
			tb.Errorf("%d fds open after the test, %d before", after, before)
		}
	})
}

// ExhaustFDs lowers the soft RLIMIT_NOFILE to the lowest free fd number,
// so that the next open, socket, dup or bpf(2) call that makes an fd fails
// with EMFILE while every fd already open stays usable. restore puts the
// limit back; so does the end of tb, whichever comes first. Tests that
// call it must not run in parallel with others.
func ExhaustFDs(tb testing.TB) (restore func()) {
	tb.Helper()
	// The runtime makes its poller's fds with the first file it opens, and
	// dies if it cannot: make them now, while it can.
	r, w, err := os.Pipe()
	if err != nil {
		tb.Fatalf("pipe: %v", err)
	}
	r.Close()
	w.Close()

	var saved unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &saved); err != nil {
		tb.Fatalf("getrlimit: %v", err)
	}
	used := make(map[int]bool)
	if err := eachFD(func(name string) {
		if fd, err := strconv.Atoi(name); err == nil {
			used[fd] = true
		}
	}); err != nil {
		tb.Fatalf("listing fds: %v", err)
	}
	lowestFree := 0
	for used[lowestFree] {
		lowestFree++
	}

	restored := false
	restore = func() {
		if restored {
			return
		}
		restored = true
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &saved); err != nil {
			tb.Errorf("restoring RLIMIT_NOFILE: %v", err)
		}
	}
	tb.Cleanup(restore)
	lowered := saved
	lowered.Cur = uint64(lowestFree)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lowered); err != nil {
		tb.Fatalf("lowering RLIMIT_NOFILE to %d: %v", lowestFree, err)
	}
	return restore
}
