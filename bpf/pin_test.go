package bpf

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/testutil"
	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/syscall"
)

// bpffsDir is a fresh directory on a bpf file system.
func bpffsDir(t *testing.T) string { return testutil.BPFFSDir(t) }

// TestPinByNameShared opens one file twice with the same PinPath: both
// Objects use one map.
func TestPinByNameShared(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	dir := bpffsDir(t)
	a := mustOpen(t, testdata("pinned.o"), &Options{PinPath: dir})
	b := mustOpen(t, testdata("pinned.o"), &Options{PinPath: dir})
	must(t, a.Load(context.Background()))
	must(t, b.Load(context.Background()))
	if _, err := os.Stat(filepath.Join(dir, "pinned_counts")); err != nil {
		t.Fatalf("no pin: %v", err)
	}
	if got := testRun(t, a.Program("pin_bump")); got != 1 {
		t.Fatalf("first bump through a returned %d", got)
	}
	if got := testRun(t, b.Program("pin_bump")); got != 2 {
		t.Fatalf("bump through b returned %d: not the same map", got)
	}
	must(t, a.Map("pinned_counts").Update(u32(9), u64(900)))
	if got := lookupU64(t, b.Map("pinned_counts"), 9); got != 900 {
		t.Fatalf("b reads %d, want 900 written through a", got)
	}
	// A pinned map outlives Close, and a new Object finds it again.
	must(t, a.Close())
	must(t, b.Close())
	c := mustOpen(t, testdata("pinned.o"), &Options{PinPath: dir, ReleaseUnusedMaps: true})
	must(t, c.Load(context.Background()))
	if got := lookupU64(t, c.Map("pinned_counts"), 1); got != 2 {
		t.Fatalf("reopened pinned map holds %d, want 2", got)
	}
	must(t, c.Program("pin_bump").Unload())
	if !c.Map("pinned_counts").Live() {
		t.Fatal("ReleaseUnusedMaps destroyed a pinned map")
	}
}

func TestPinMismatchRefused(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	dir := bpffsDir(t)
	fd, err := syscall.MapCreate(&syscall.MapCreateAttr{MapType: uapi.MapTypeHash, KeySize: 4, ValueSize: 4, MaxEntries: 16})
	must(t, err)
	must(t, syscall.ObjPin(fd, filepath.Join(dir, "pinned_counts")))
	unix.Close(fd)
	obj := mustOpen(t, testdata("pinned.o"), &Options{PinPath: dir})
	// The program fails before reaching the verifier, yet Object.Load
	// reports it as a *VerifierError naming it, with the cause reachable.
	err = obj.Load(context.Background())
	var verr *VerifierError
	if !errors.As(err, &verr) || verr.Program != "pin_bump" || !errors.Is(err, ErrIncompatibleMap) {
		t.Fatalf("Load with a mismatched pin: %v, want a *VerifierError for pin_bump wrapping ErrIncompatibleMap", err)
	}
	if obj.Map("pinned_counts").Live() {
		t.Fatal("mismatched pinned map adopted")
	}
}

// TestReuseFD shares a map between two Objects through ReuseFD.
func TestReuseFD(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	a := mustOpen(t, testdata("loader.o"), nil)
	b := mustOpen(t, testdata("loader.o"), &Options{ReleaseUnusedMaps: true})
	must(t, a.Load(context.Background()))
	must(t, b.Map("results").ReuseFD(a.Map("results").FD()))
	must(t, b.Load(context.Background()))
	testRun(t, b.Program("prog_loop"))
	if got := lookupU64(t, a.Map("results"), 1); got != 45 {
		t.Fatalf("a reads results[1] = %d, want 45 written by b's program", got)
	}
	must(t, a.Map("results").Update(u32(6), u64(66)))
	if got := lookupU64(t, b.Map("results"), 6); got != 66 {
		t.Fatalf("b reads %d, want 66", got)
	}
	if err := b.Map("results").ReuseFD(a.Map("results").FD()); err == nil {
		t.Fatal("ReuseFD on a live map succeeded")
	}
	for _, p := range b.Programs() {
		must(t, p.Unload())
	}
	if !b.Map("results").Live() {
		t.Fatal("ReleaseUnusedMaps destroyed a reused map")
	}
	// A map of another shape is refused.
	if err := b.Map("counts").ReuseFD(a.Map("results").FD()); !errors.Is(err, ErrIncompatibleMap) {
		t.Fatalf("ReuseFD of an array for a hash: %v, want ErrIncompatibleMap", err)
	}
}
