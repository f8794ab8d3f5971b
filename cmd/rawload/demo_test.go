package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// The embedded object is a copy (go:embed cannot reach ../../testdata);
// `go generate` refreshes it.
func TestDemoObjectIsCurrent(t *testing.T) {
	want, err := os.ReadFile(testdata("dynload.o"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dynloadObject, want) {
		t.Fatal("cmd/rawload/dynload.o differs from testdata/dynload.o: run go generate ./cmd/rawload")
	}
}

func TestDemo(t *testing.T) {
	requireKernel(t)
	before := openFDs(t)
	stdout, stderr, code := rawload(t, "demo")
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"prog1 refused to load: program prog1: program is disabled",
		"prog1_called=0 prog2_called=1 prog3_called=0): prog2 ran, prog1 did not run, prog3 did not run",
		"prog1_called=0 prog2_called=1 prog3_called=1): prog3 ran",
		"prog3's link closed; after a syscall (prog1_called=0 prog2_called=1 prog3_called=0): prog3 did not run",
		"prog3.Unload: prog3 not loaded",
		"prog3 ran again",
		"map fds unchanged through load, unload and reload",
		"demo: every expectation met",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if after := openFDs(t); after != before {
		t.Errorf("%d fds open after the demo, %d before", after, before)
	}
}
