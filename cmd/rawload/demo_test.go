package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/rawload/rawload/bpf"
)

// The embedded object is testdata/dynload.o without its DWARF (go:embed
// cannot reach ../../testdata, and DWARF is 4 KB of the static binary
// that nothing reads); `go generate` refreshes it. Programs, maps and
// BTF must be the same.
func TestDemoObjectIsCurrent(t *testing.T) {
	want, err := bpf.ReadSpec(testdata("dynload.o"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := bpf.ParseSpec(dynloadObject)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Programs) != len(want.Programs) || len(got.Maps) != len(want.Maps) {
		t.Fatalf("embedded: %d programs, %d maps; testdata: %d, %d: run go generate ./cmd/rawload", len(got.Programs), len(want.Programs), len(got.Maps), len(want.Maps))
	}
	for i, p := range want.Programs {
		q := got.Programs[i]
		if p.Name != q.Name || p.Section != q.Section || p.Insns != q.Insns || !slices.Equal(p.Maps, q.Maps) {
			t.Errorf("program %s differs from the embedded copy: run go generate ./cmd/rawload", p.Name)
		}
	}
	for i, m := range want.Maps {
		if q := got.Maps[i]; m.Name != q.Name || m.Type != q.Type || m.ValueType != q.ValueType {
			t.Errorf("map %s differs from the embedded copy: run go generate ./cmd/rawload", m.Name)
		}
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
