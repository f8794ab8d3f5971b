package bpf

import (
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/syscall"
)

var kernelProbe = sync.OnceValue(func() error {
	fd, err := syscall.MapCreate(&syscall.MapCreateAttr{MapType: uapi.MapTypeArray, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	if err == nil {
		unix.Close(fd)
	}
	return err
})

// requireKernel skips a test that needs bpf(2) where it is not permitted,
// unless RAWLOAD_REQUIRE_KERNEL=1 says the kernel must be there.
func requireKernel(t testing.TB) {
	t.Helper()
	err := kernelProbe()
	if err == nil {
		return
	}
	if os.Getenv("RAWLOAD_REQUIRE_KERNEL") == "1" {
		t.Fatalf("bpf(2) unusable and RAWLOAD_REQUIRE_KERNEL=1: %v", err)
	}
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSYS) {
		t.Skipf("bpf(2) not permitted here (%v): needs root or CAP_BPF", err)
	}
	t.Fatalf("probing bpf(2): %v", err)
}

func testdata(name string) string { return filepath.Join("..", "testdata", name) }

// ciliumTestdata is the testdata directory of the cilium/ebpf module.
var ciliumDir = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/cilium/ebpf").Output()
	return strings.TrimSpace(string(out)), err
})

func ciliumTestdata(t testing.TB, name string) string {
	t.Helper()
	dir, err := ciliumDir()
	if err != nil || dir == "" {
		t.Fatalf("locating github.com/cilium/ebpf: %v", err)
	}
	return filepath.Join(dir, name)
}

func openFDs(t testing.TB) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// checkNoLeak fails the test if the process ends it with more or fewer
// fds than it started with.
func checkNoLeak(t *testing.T) {
	t.Helper()
	before := openFDs(t)
	t.Cleanup(func() {
		if after := openFDs(t); after != before {
			t.Errorf("fd count %d after the test, %d before", after, before)
		}
	})
}

func mustOpen(t *testing.T, path string, opts *Options) *Object {
	t.Helper()
	obj, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { obj.Close() })
	return obj
}

func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.NativeEndian.AppendUint64(nil, v) }

func lookupU64(t *testing.T, m *Map, key uint32) uint64 {
	t.Helper()
	val := make([]byte, 8)
	if err := m.Lookup(u32(key), val); err != nil {
		t.Fatalf("lookup %s[%d]: %v", m.Name(), key, err)
	}
	return binary.NativeEndian.Uint64(val)
}

func readVarU64(t *testing.T, obj *Object, name string) uint64 {
	t.Helper()
	v, err := obj.Variable(name)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, v.Size())
	if err := v.Read(buf); err != nil {
		t.Fatal(err)
	}
	switch len(buf) {
	case 4:
		return uint64(binary.NativeEndian.Uint32(buf))
	case 8:
		return binary.NativeEndian.Uint64(buf)
	}
	t.Fatalf("variable %s has %d bytes", name, len(buf))
	return 0
}

var packet = make([]byte, 64)

func testRun(t *testing.T, p *Program) uint32 {
	t.Helper()
	ret, err := p.TestRun(packet)
	if err != nil {
		t.Fatalf("TestRun %s: %v", p.Name(), err)
	}
	return ret
}
