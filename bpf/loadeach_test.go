package bpf

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestLoadEach loads an object with one good and one bad program: the
// good one stays loaded and runs, the bad one reports the verifier, and
// the map only the bad one wanted is gone again.
func TestLoadEach(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("invalid.o"), &Options{Parallelism: 2})
	results, err := obj.LoadEach(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 || results[0].Program.Name() != "good_prog" || results[1].Program.Name() != "bad_prog" {
		t.Fatalf("results %+v, want good_prog then bad_prog in file order", results)
	}

	good, bad := results[0], results[1]
	if good.Err != nil || good.Duration <= 0 || good.VerifiedInsns == 0 {
		t.Errorf("good_prog: %+v", good)
	}
	if ret := testRun(t, good.Program); ret != 1 {
		t.Errorf("good_prog returned %d, want 1", ret)
	}

	var verr *VerifierError
	if !errors.As(bad.Err, &verr) || !errors.Is(bad.Err, unix.EACCES) ||
		!strings.Contains(verr.Log, "invalid mem access 'map_value_or_null'") {
		t.Errorf("bad_prog: %v, want a *VerifierError with EACCES and the verifier's reason", bad.Err)
	}
	if bad.VerifiedInsns == 0 || bad.Program.FD() >= 0 {
		t.Errorf("bad_prog: verified insns %d, fd %d", bad.VerifiedInsns, bad.Program.FD())
	}
	if obj.Map("invalid_values").Live() {
		t.Error("invalid_values, wanted only by the program that failed, is still live")
	}

	if _, err := obj.LoadEach(context.Background()); !errors.Is(err, ErrAlreadyLoaded) {
		t.Errorf("second LoadEach: %v, want ErrAlreadyLoaded", err)
	}
}

func TestLoadEachKeepsSharedMaps(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("loader.o"), nil)
	results, err := obj.LoadEach(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Err != nil {
			t.Errorf("%s: %v", r.Program.Name(), r.Err)
		}
	}
	if len(results) != len(obj.Programs()) {
		t.Errorf("%d results for %d programs", len(results), len(obj.Programs()))
	}
	for _, name := range []string{"counts", "results", ".data", ".bss"} {
		if !obj.Map(name).Live() {
			t.Errorf("map %s is not live with its programs loaded", name)
		}
	}
}

func TestLoadEachCancelled(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("many.o"), &Options{Parallelism: 1})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	results, err := obj.LoadEach(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(obj.Programs()) {
		t.Fatalf("%d results for %d programs", len(results), len(obj.Programs()))
	}
	for _, r := range results {
		if !errors.Is(r.Err, context.Canceled) || r.Program.FD() >= 0 {
			t.Errorf("%s: %v, fd %d; want context.Canceled and not loaded", r.Program.Name(), r.Err, r.Program.FD())
		}
	}
	for _, m := range obj.Maps() {
		if m.Live() {
			t.Errorf("map %s live after a cancelled LoadEach", m.Name())
		}
	}
}

func TestLoadEachClosed(t *testing.T) {
	requireKernel(t)
	obj := mustOpen(t, testdata("invalid.o"), nil)
	obj.Close()
	if _, err := obj.LoadEach(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("LoadEach after Close: %v, want ErrClosed", err)
	}
}
