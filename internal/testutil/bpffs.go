package testutil

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// BPFFSRoot is where the tests find, or mount, a bpf file system.
const BPFFSRoot = "/sys/fs/bpf"

// BPFFSDir returns a fresh directory on a bpf file system, mounting one at
// BPFFSRoot if none is there, and removes it with whatever is pinned in
// it at the end of the test. Where no bpf file system can be had, the
// test skips, or fails under RAWLOAD_REQUIRE_KERNEL=1.
func BPFFSDir(tb testing.TB) string {
	tb.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(BPFFSRoot, &st); err != nil || uint32(st.Type) != unix.BPF_FS_MAGIC {
		if err := unix.Mount("bpf", BPFFSRoot, "bpf", 0, ""); err != nil {
			SkipUnlessRequired(tb, "no bpf file system at %s and mounting one failed: %v", BPFFSRoot, err)
		}
	}
	dir, err := os.MkdirTemp(BPFFSRoot, "rawload-test-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
