package main

import (
	"bytes"
	"context"
	"encoding/json"
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

func testdata(name string) string { return filepath.Join("..", "..", "testdata", name) }

var ciliumDir = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/cilium/ebpf").Output()
	return strings.TrimSpace(string(out)), err
})

// ciliumTestdata is a file of the cilium/ebpf module's testdata, used in
// place and never copied.
func ciliumTestdata(t testing.TB, name string) string {
	t.Helper()
	dir, err := ciliumDir()
	if err != nil || dir == "" {
		t.Fatalf("locating github.com/cilium/ebpf: %v", err)
	}
	return filepath.Join(dir, "testdata", name)
}

// rawload runs the CLI in-process.
func rawload(t testing.TB, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), code
}

// rawloadJSON runs the CLI and decodes its one JSON document into v.
func rawloadJSON(t testing.TB, v any, args ...string) int {
	t.Helper()
	stdout, stderr, code := rawload(t, args...)
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("rawload %s: decoding JSON: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout, stderr)
	}
	if dec.More() {
		t.Fatalf("rawload %s: more than one JSON document:\n%s", strings.Join(args, " "), stdout)
	}
	return code
}

// openFDs counts the process's open fds, to show a command leaves none.
func openFDs(t testing.TB) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}
