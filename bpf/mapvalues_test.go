package bpf

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/syscall"
)

func valueU32(t *testing.T, m *Map, key uint32) uint32 {
	t.Helper()
	val := make([]byte, 4)
	if err := m.Lookup(u32(key), val); err != nil {
		t.Fatalf("lookup %s[%d]: %v", m.Name(), key, err)
	}
	return binary.NativeEndian.Uint32(val)
}

// TestMapInMapValues checks that the outer maps were filled from the
// object's .values: the programs reach the inner maps only through them.
func TestMapInMapValues(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("mapinmap.o"), nil)
	must(t, obj.Load(context.Background()))
	innerA, innerB := obj.Map("inner_a"), obj.Map("inner_b")
	outerArray, outerHash := obj.Map("outer_array"), obj.Map("outer_hash")

	// User space reads an outer slot as the inner map's id.
	idA, err := syscall.MapInfoByFD(innerA.FD())
	must(t, err)
	idB, err := syscall.MapInfoByFD(innerB.FD())
	must(t, err)
	for _, tc := range []struct {
		outer *Map
		key   uint32
		want  uint32
		inner string
	}{
		{outerArray, 0, idA.ID, "inner_a"},
		{outerArray, 1, idB.ID, "inner_b"},
		{outerHash, 3, idB.ID, "inner_b"},
	} {
		if got := valueU32(t, tc.outer, tc.key); got != tc.want {
			t.Errorf("%s[%d] holds map id %d, %s is %d", tc.outer.Name(), tc.key, got, tc.inner, tc.want)
		}
	}
	for _, tc := range []struct {
		outer *Map
		key   uint32
	}{{outerArray, 2}, {outerArray, 3}, {outerHash, 0}} {
		err := tc.outer.Lookup(u32(tc.key), make([]byte, 4))
		if !errors.Is(err, unix.ENOENT) {
			t.Errorf("%s[%d], not in .values: %v, want ENOENT", tc.outer.Name(), tc.key, err)
		}
	}

	if got := testRun(t, obj.Program("mim_prog")); got != 2 {
		t.Fatalf("mim_prog returned %d, want 2 (one per inner map written)", got)
	}
	if got := valueU32(t, innerA, 0); got != 100 {
		t.Errorf("inner_a[0] = %d, want 100", got)
	}
	if got := valueU32(t, innerB, 0); got != 200 {
		t.Errorf("inner_b[0] = %d, want 200", got)
	}
	if got := testRun(t, obj.Program("mim_hash")); got != 1 {
		t.Fatalf("mim_hash returned %d, want 1 (outer_hash[3] found)", got)
	}
	if got := valueU32(t, innerB, 0); got != 201 {
		t.Errorf("inner_b[0] = %d after mim_hash, want 201", got)
	}
	if got := valueU32(t, innerA, 0); got != 100 {
		t.Errorf("inner_a[0] = %d after mim_hash, want 100", got)
	}
}

// TestTailCallValues checks a program array filled from .values, and kept
// in step with the loads and unloads of the programs it names.
func TestTailCallValues(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("tailcall.o"), nil)
	must(t, obj.Load(context.Background()))
	entry := obj.Program("tail_entry")
	run := func(index uint32) uint32 {
		t.Helper()
		writeVar(t, obj, "tail_index", u32(index))
		return testRun(t, entry)
	}
	for index, want := range []uint32{10, 99, 12, 99, 99} {
		if got := run(uint32(index)); got != want {
			t.Errorf("tail_index %d: tail_entry returned %d, want %d", index, got, want)
		}
	}

	zero := obj.Program("tail_zero")
	must(t, zero.Unload())
	if got := run(0); got != 99 {
		t.Errorf("tail_zero unloaded: index 0 returned %d, want 99 (slot cleared)", got)
	}
	if got := run(2); got != 12 {
		t.Errorf("tail_zero unloaded: index 2 returned %d, want 12", got)
	}
	must(t, zero.Load())
	if got := run(0); got != 10 {
		t.Errorf("tail_zero loaded again: index 0 returned %d, want 10", got)
	}

	table := obj.Map("jump_table")
	if err := table.Destroy(); !errors.Is(err, ErrMapInUse) {
		t.Fatalf("Destroy of jump_table under loaded tail_entry: %v, want ErrMapInUse", err)
	}
	// Recreated, the table is filled again with the programs loaded now.
	must(t, entry.Unload())
	must(t, table.Destroy())
	must(t, entry.Load())
	if !table.Live() {
		t.Fatal("jump_table not live after tail_entry loaded")
	}
	for index, want := range []uint32{10, 99, 12, 99} {
		if got := run(uint32(index)); got != want {
			t.Errorf("recreated jump_table, tail_index %d: returned %d, want %d", index, got, want)
		}
	}
}
