package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rawload/rawload/internal/testutil"
)

// requireKernel skips a test that needs bpf(2) where it is not permitted,
// unless RAWLOAD_REQUIRE_KERNEL=1 says the kernel must be there.
func requireKernel(t testing.TB) {
	t.Helper()
	testutil.RequireKernel(t)
}

func testdata(name string) string { return filepath.Join("..", "..", "testdata", name) }

// ciliumTestdata is a file of the cilium/ebpf module's testdata, used in
// place and never copied.
func ciliumTestdata(t testing.TB, name string) string {
	t.Helper()
	dir, err := testutil.CiliumDir()
	if err != nil {
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
	return testutil.OpenFDs(t)
}
