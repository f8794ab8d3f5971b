package main

import (
	"fmt"
	"strings"
	"testing"
)

func TestLoadOneProgram(t *testing.T) {
	requireKernel(t)
	before := openFDs(t)
	var got []loadRecord
	// The flag after the object path must work too.
	if code := rawloadJSON(t, &got, "load", "--json", testdata("loader.o"), "--prog", "prog_loop"); code != exitOK {
		t.Fatalf("exit %d: %+v", code, got)
	}
	if len(got) != 1 {
		t.Fatalf("%d programs reported, want only prog_loop: %+v", len(got), got)
	}
	r := got[0]
	if r.Program != "prog_loop" || !r.Loaded || r.Error != "" || r.Type != "socket_filter" || r.Insns != 52 {
		t.Errorf("prog_loop: %+v", r)
	}
	// testdata/README.md: the verifier processes 72 insns on 6.18.
	if r.VerifiedInsns == 0 || r.LoadNS <= 0 {
		t.Errorf("prog_loop: verified insns %d, load time %dns", r.VerifiedInsns, r.LoadNS)
	}
	if r.Log != "" {
		t.Errorf("a log without --log: %q", r.Log)
	}
	if after := openFDs(t); after != before {
		t.Errorf("%d fds open after load, %d before", after, before)
	}
}

func TestLoadAll(t *testing.T) {
	requireKernel(t)
	var got []loadRecord
	if code := rawloadJSON(t, &got, "load", "--json", "--parallel", "2", "--log", testdata("loader.o")); code != exitOK {
		t.Fatalf("exit %d: %+v", code, got)
	}
	var names []string
	for _, r := range got {
		names = append(names, r.Program)
		if !r.Loaded || r.Error != "" {
			t.Errorf("%s: %+v", r.Program, r)
		}
		// --log sets log level 1: every successful load has its statistics.
		if !strings.Contains(r.Log, "processed ") {
			t.Errorf("%s: log lacks the verifier statistics: %q", r.Program, r.Log)
		}
		if want := fmt.Sprintf("processed %d insns", r.VerifiedInsns); r.VerifiedInsns == 0 || !strings.Contains(r.Log, want) {
			t.Errorf("%s: verified insns %d, log says otherwise:\n%s", r.Program, r.VerifiedInsns, r.Log)
		}
	}
	if want := "prog_counter prog_loop prog_maps prog_string"; strings.Join(names, " ") != want {
		t.Errorf("programs %q, want %q in file order", names, want)
	}
}

func TestLoadSeveralNamed(t *testing.T) {
	requireKernel(t)
	var got []loadRecord
	if code := rawloadJSON(t, &got, "load", "--prog", "prog_string", "--json", "--prog", "prog_counter", testdata("loader.o")); code != exitOK {
		t.Fatalf("exit %d: %+v", code, got)
	}
	if len(got) != 2 || got[0].Program != "prog_counter" || got[1].Program != "prog_string" {
		t.Fatalf("got %+v, want prog_counter and prog_string", got)
	}
}

func TestLoadFailure(t *testing.T) {
	requireKernel(t)
	stdout, stderr, code := rawload(t, "load", testdata("invalid.o"))
	if code != exitFailure {
		t.Errorf("exit %d, want %d; stderr: %s", code, exitFailure, stderr)
	}
	for _, want := range []string{"good_prog", "success", "bad_prog", "failure", "map_value_or_null"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestLoadUnknownProgram(t *testing.T) {
	stdout, stderr, code := rawload(t, "load", testdata("loader.o"), "--prog", "prog_loop", "--prog", "no_such_prog")
	if code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	if !strings.Contains(stderr, `"no_such_prog"`) {
		t.Errorf("error does not name the program: %s", stderr)
	}
	if stdout != "" {
		t.Errorf("something was reported: %s", stdout)
	}
}

// TestLoadPinNotOnBPFFS: a --pin directory elsewhere than on a bpf
// filesystem is refused, saying so.
func TestLoadPinNotOnBPFFS(t *testing.T) {
	requireKernel(t)
	dir := t.TempDir()
	_, stderr, code := rawload(t, "load", "--pin", dir, testdata("pinned.o"))
	if code != exitFailure || !strings.Contains(stderr, "not on a bpf filesystem") {
		t.Fatalf("load --pin %s: exit %d, stderr:\n%s", dir, code, stderr)
	}
}

// TestInspectRefusesDevices: inspect reads regular files only, so
// /dev/zero is an error at once, not a read without end.
func TestInspectRefusesDevices(t *testing.T) {
	_, stderr, code := rawload(t, "inspect", "/dev/zero")
	if code != exitFailure || !strings.Contains(stderr, "not a regular file") {
		t.Fatalf("inspect /dev/zero: exit %d, stderr:\n%s", code, stderr)
	}
}

// TestLoadMaxEntries sizes the map testdata/sizes.o leaves to user space:
// without --max-entries its program fails saying how to size it, with it
// every program loads; a name no map has is a usage error.
func TestLoadMaxEntries(t *testing.T) {
	requireKernel(t)
	var got []loadRecord
	if code := rawloadJSON(t, &got, "load", "--json", testdata("sizes.o")); code != exitFailure {
		t.Fatalf("exit %d without --max-entries: %+v", code, got)
	}
	for _, r := range got {
		if r.Program == "count_conn" && !strings.Contains(r.Error, "--max-entries conns=N") {
			t.Errorf("count_conn: %q", r.Error)
		}
	}
	got = nil
	if code := rawloadJSON(t, &got, "load", "--json", "--max-entries", "conns=64", "--value-size", "stacks=1016", testdata("sizes.o")); code != exitOK {
		t.Fatalf("exit %d with --max-entries conns=64 --value-size stacks=1016: %+v", code, got)
	}
	if len(got) != 4 {
		t.Errorf("%d programs reported, want 4", len(got))
	}
	if _, stderr, code := rawload(t, "load", "--max-entries", "nosuch=4", testdata("sizes.o")); code != exitUsage || !strings.Contains(stderr, `no map "nosuch"`) {
		t.Errorf("unknown map: exit %d, stderr %s", code, stderr)
	}
	if _, _, code := rawload(t, "verify", "--max-entries", "conns=64", "--value-size", "stacks=1016", testdata("sizes.o"), testdata("loader.o")); code != exitOK {
		t.Errorf("verify with --max-entries over two objects: exit %d", code)
	}
}
