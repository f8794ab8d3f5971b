package bpf

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
)

// TestInnerMapHeldByOuter: a live map of maps holds the inner maps its
// values put in it, so they cannot be destroyed and recreated under it;
// once the outer map is gone they can, and with ReleaseUnusedMaps the
// last program's unload takes the whole tree down.
func TestInnerMapHeldByOuter(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("mapinmap.o"), &Options{ReleaseUnusedMaps: true})
	must(t, obj.Load(context.Background()))
	outer, innerA := obj.Map("outer_array"), obj.Map("inner_a")
	if !outer.Live() || !innerA.Live() {
		t.Fatal("outer or inner map not live after Object.Load")
	}
	prog := obj.Program("mim_prog")
	if got := testRun(t, prog); got != 2 {
		t.Fatalf("mim_prog returned %d, want 2", got)
	}
	must(t, prog.Unload())
	if outer.Live() {
		t.Fatal("outer_array live after its only program unloaded, with ReleaseUnusedMaps")
	}
	if innerA.Live() {
		t.Fatal("inner_a live after the outer map holding it was released")
	}
	must(t, prog.Load())
	if err := innerA.Destroy(); !errors.Is(err, ErrMapInUse) {
		t.Fatalf("destroying an inner map held by a live outer map: %v, want ErrMapInUse", err)
	}
	if got := testRun(t, prog); got != 2 {
		t.Fatalf("mim_prog returned %d after reload, want 2", got)
	}
	if got := lookupU32(t, innerA, 0); got != 100 {
		t.Fatalf("inner_a[0] = %d, want 100 written through the outer map", got)
	}
}

func lookupU32(t *testing.T, m *Map, key uint32) uint32 {
	t.Helper()
	val := make([]byte, 4)
	if err := m.Lookup(u32(key), val); err != nil {
		t.Fatalf("lookup %s[%d]: %v", m.Name(), key, err)
	}
	return binary.NativeEndian.Uint32(val)
}
