package bench

import (
	"path/filepath"
	"testing"

	"github.com/rawload/rawload/internal/testutil"
)

// requireKernel skips tb where bpf(2) is not permitted, unless
// RAWLOAD_REQUIRE_KERNEL=1 says this environment must run kernel tests,
// in which case it fails instead.
func requireKernel(tb testing.TB) {
	tb.Helper()
	testutil.RequireKernel(tb)
}

// ciliumDir is the module directory of the cilium/ebpf this module
// requires, whose test objects and examples are the peer objects.
func ciliumDir() (string, error) { return testutil.CiliumDir() }

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
	return testutil.FDs(tb)
}
