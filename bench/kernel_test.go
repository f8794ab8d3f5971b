package bench

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/syscall"
)

// requireKernel skips tb where bpf(2) is not permitted, unless
// RAWLOAD_REQUIRE_KERNEL=1 says this environment must run kernel tests,
// in which case it fails instead. Creating a one-element ARRAY map is the
// cheapest call that needs the same privilege as loading.
func requireKernel(tb testing.TB) {
	tb.Helper()
	fd, err := syscall.MapCreate(&syscall.MapCreateAttr{MapType: 2, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	if err == nil {
		unix.Close(fd)
		return
	}
	if errors.Is(err, unix.EPERM) && os.Getenv("RAWLOAD_REQUIRE_KERNEL") != "1" {
		tb.Skipf("bpf(2) not permitted (%v); set RAWLOAD_REQUIRE_KERNEL=1 to fail instead", err)
	}
	tb.Fatalf("bpf(2) BPF_MAP_CREATE: %v", err)
}

// ciliumDir is the module directory of the cilium/ebpf this module
// requires, whose test objects and examples are the peer objects.
var ciliumDir = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/cilium/ebpf").Output()
	if err != nil {
		return "", err
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", errors.New("go list printed no directory for github.com/cilium/ebpf")
	}
	return dir, nil
})

// ciliumObjects returns cilium/ebpf's files matching each pattern (relative
// to its module directory), as paths relative to that directory.
func ciliumObjects(tb testing.TB, patterns ...string) (dir string, objects []string) {
	tb.Helper()
	dir, err := ciliumDir()
	if err != nil {
		tb.Fatalf("locating cilium/ebpf: %v", err)
	}
	for _, pattern := range patterns {
		matches, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			tb.Fatal(err)
		}
		for _, m := range matches {
			rel, err := filepath.Rel(dir, m)
			if err != nil {
				tb.Fatal(err)
			}
			objects = append(objects, rel)
		}
	}
	if len(objects) == 0 {
		tb.Fatalf("no objects match %q in %s", patterns, dir)
	}
	return dir, objects
}

// openFDs returns the process's open fds, each with what it refers to.
func openFDs(tb testing.TB) map[int]string {
	tb.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		tb.Fatalf("listing fds: %v", err)
	}
	fds := make(map[int]string, len(entries))
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		// The fd ReadDir itself used is gone by now; Readlink fails
		// for it, and it is left out.
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err != nil {
			continue
		}
		fds[fd] = target
	}
	return fds
}
