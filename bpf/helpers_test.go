package bpf

import (
	"context"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf/btf"

	"github.com/rawload/rawload/internal/testutil"
)

// requireKernel skips a test that needs bpf(2) where it is not permitted,
// unless RAWLOAD_REQUIRE_KERNEL=1 says the kernel must be there.
func requireKernel(t testing.TB) { t.Helper(); testutil.RequireKernel(t) }

// requireKernelBTF skips a test that reads the running kernel's BTF on a
// kernel without it, unless RAWLOAD_REQUIRE_KERNEL=1.
func requireKernelBTF(t testing.TB) *btf.Spec {
	t.Helper()
	spec, err := kernelSpec()
	if err == nil {
		return spec
	}
	if _, statErr := os.Stat("/sys/kernel/btf/vmlinux"); errors.Is(statErr, fs.ErrNotExist) {
		testutil.SkipUnlessRequired(t, "kernel without BTF (no /sys/kernel/btf/vmlinux): %v", err)
	}
	t.Fatal(err)
	return nil
}

func testdata(name string) string { return filepath.Join("..", "testdata", name) }

// ciliumTestdata is a file of the cilium/ebpf module, used in place.
func ciliumTestdata(t testing.TB, name string) string {
	t.Helper()
	dir, err := testutil.CiliumDir()
	if err != nil {
		t.Fatalf("locating github.com/cilium/ebpf: %v", err)
	}
	return filepath.Join(dir, name)
}

// checkNoLeak fails the test if the process ends it with more or fewer
// fds than it started with.
func checkNoLeak(t *testing.T) { t.Helper(); testutil.CheckNoLeak(t) }

func mustOpen(t *testing.T, path string, opts *Options) *Object {
	t.Helper()
	obj, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { obj.Close() })
	return obj
}

// openDynamic opens path with every program Dynamic and runs
// Object.Load, which then loads nothing: programs load one by one.
func openDynamic(t *testing.T, path string, opts *Options) *Object {
	t.Helper()
	obj := mustOpen(t, path, opts)
	for _, p := range obj.Programs() {
		must(t, p.SetLoadType(LoadDynamic))
	}
	must(t, obj.Load(context.Background()))
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
