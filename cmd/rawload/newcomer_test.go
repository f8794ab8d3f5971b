package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/bpf"
	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/syscall"
)

// TestPrivilegeSaidOnce: without permission for bpf(2), load says what is
// missing once, not once per program.
func TestPrivilegeSaidOnce(t *testing.T) {
	requireKernel(t)
	syscall.SetFaultHook(func(cmd int) unix.Errno {
		if cmd == uapi.CmdMapCreate || cmd == uapi.CmdProgLoad {
			return unix.EPERM
		}
		return 0
	})
	_, stderr, code := rawload(t, "load", testdata("loader.o"))
	syscall.SetFaultHook(nil)
	if code != exitFailure || strings.Count(stderr, "needs root or CAP_BPF") != 1 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
}

// TestErrorNamesProgramOnce: a failure line names its program once.
func TestErrorNamesProgramOnce(t *testing.T) {
	requireKernel(t)
	stdout, _, code := rawload(t, "load", testdata("invalid.o"))
	if code != exitFailure {
		t.Fatalf("exit %d", code)
	}
	if strings.Contains(stdout, "bad_prog: program bad_prog") || !strings.Contains(stdout, "\nprogram bad_prog: load: permission denied: R0 invalid mem access") {
		t.Errorf("failure line:\n%s", stdout)
	}
	// By default a failure shows the end of its verifier log.
	if !strings.Contains(stdout, "--- verifier log of bad_prog ---") || !strings.Contains(stdout, "processed") {
		t.Errorf("no log tail for the failure:\n%s", stdout)
	}
	if strings.Contains(stdout, "verifier log of good_prog") {
		t.Errorf("a log shown for a program that loaded, without --log:\n%s", stdout)
	}
}

func TestLogFull(t *testing.T) {
	requireKernel(t)
	for _, args := range [][]string{{"load", "--log=full"}, {"load", "--log"}, {"verify", "--log"}} {
		stdout, _, _ := rawload(t, append(args, testdata("invalid.o"))...)
		if !strings.Contains(stdout, "verifier log of") || !strings.Contains(stdout, "good_prog") || strings.Count(stdout, "processed") < 2 {
			t.Errorf("%v: want the full log of every program:\n%s", args, stdout)
		}
	}
}

// TestInterruptedSummary: a load interrupted before it starts says so in
// one line, not one per program.
func TestInterruptedSummary(t *testing.T) {
	requireKernel(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut bytes.Buffer
	code := run(ctx, []string{"load", testdata("many.o")}, &out, &errOut)
	if code != exitFailure || strings.Count(out.String(), "interrupted: 24 programs not loaded") != 1 || strings.Contains(out.String(), "context canceled") {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
}

// TestJSONWhenObjectFails: --json prints a JSON document also when the
// object cannot be read.
func TestJSONWhenObjectFails(t *testing.T) {
	requireKernel(t)
	for _, cmd := range []string{"load", "inspect", "bench", "verify"} {
		stdout, _, code := rawload(t, cmd, "--json", "/nonexistent.o")
		var doc any
		if code != exitFailure || json.Unmarshal([]byte(stdout), &doc) != nil || !strings.Contains(stdout, "no such file") {
			t.Errorf("%s --json of a missing file: exit %d, stdout %q", cmd, code, stdout)
		}
	}
}

func TestVersion(t *testing.T) {
	stdout, _, code := rawload(t, "version")
	if code != exitOK || !strings.HasPrefix(stdout, "rawload ") || !strings.Contains(stdout, "go1.") {
		t.Errorf("version: exit %d, %q", code, stdout)
	}
}

func TestParallelBelowOne(t *testing.T) {
	_, stderr, code := rawload(t, "load", "--parallel", "0", testdata("loader.o"))
	if code != exitUsage || !strings.Contains(stderr, "must be at least 1") {
		t.Errorf("--parallel 0: exit %d, %s", code, stderr)
	}
}

func TestProgNoSuch(t *testing.T) {
	requireKernel(t)
	_, stderr, code := rawload(t, "load", "--prog", "nosuch", testdata("invalid.o"))
	if code != exitUsage || !strings.Contains(stderr, "the object has: good_prog, bad_prog") {
		t.Errorf("--prog nosuch: exit %d, %s", code, stderr)
	}
}

// TestProgressLine: while many programs load, a terminal sees a progress
// line that redraws itself and is erased at the end.
func TestProgressLine(t *testing.T) {
	requireKernel(t)
	obj, err := bpf.Open(testdata("huge.o"), &bpf.Options{Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	var tty bytes.Buffer
	if _, err := loadEach(context.Background(), obj, obj.Programs(), &tty); err != nil {
		t.Fatal(err)
	}
	out := tty.String()
	if !strings.Contains(out, "\rloading: ") || !strings.Contains(out, " of 200 programs") || !strings.HasSuffix(out, "\r\033[K") {
		t.Errorf("progress output %q", out)
	}
	if terminal(&tty) != nil {
		t.Error("a buffer taken for a terminal")
	}
}
