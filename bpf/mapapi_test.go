package bpf

import (
	"context"
	"encoding/binary"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
)

func TestMapElementAPI(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	m, err := NewMap(MapSpec{Name: "api_hash", Type: uapi.MapTypeHash, KeySize: 4, ValueSize: 8, MaxEntries: 64})
	must(t, err)
	defer m.Close()

	must(t, m.UpdateWith(u32(1), u64(10), UpdateNoExist))
	if err := m.UpdateWith(u32(1), u64(11), UpdateNoExist); !errors.Is(err, ErrKeyExist) || !errors.Is(err, unix.EEXIST) {
		t.Errorf("UpdateNoExist of a present key: %v", err)
	}
	if err := m.UpdateWith(u32(2), u64(20), UpdateExist); !errors.Is(err, ErrKeyNotExist) || !errors.Is(err, unix.ENOENT) {
		t.Errorf("UpdateExist of a missing key: %v", err)
	}
	if err := m.Lookup(u32(99), make([]byte, 8)); !errors.Is(err, ErrKeyNotExist) {
		t.Errorf("Lookup of a missing key: %v", err)
	}
	if err := m.Update(u32(1), make([]byte, 4)); err == nil {
		t.Error("a 4-byte value accepted for 8-byte values")
	}

	for k := uint32(2); k <= 10; k++ {
		must(t, m.Update(u32(k), u64(uint64(k)*10)))
	}
	var seen []uint32
	key, value := make([]byte, 4), make([]byte, 8)
	it := m.Iterate()
	for it.Next(key, value) {
		k := binary.NativeEndian.Uint32(key)
		if v := binary.NativeEndian.Uint64(value); v != uint64(k)*10 {
			t.Errorf("iterated %d → %d", k, v)
		}
		seen = append(seen, k)
	}
	must(t, it.Err())
	slices.Sort(seen)
	if want := []uint32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}; !slices.Equal(seen, want) {
		t.Errorf("iterated keys %v, want %v", seen, want)
	}

	must(t, m.LookupAndDelete(u32(5), value))
	if binary.NativeEndian.Uint64(value) != 50 {
		t.Errorf("LookupAndDelete returned %d", binary.NativeEndian.Uint64(value))
	}
	if err := m.Lookup(u32(5), value); !errors.Is(err, ErrKeyNotExist) {
		t.Errorf("key 5 after LookupAndDelete: %v", err)
	}

	info, err := m.Info()
	must(t, err)
	if info.ID == 0 || info.Name != "api_hash" || info.Type != uapi.MapTypeHash || info.MaxEntries != 64 {
		t.Errorf("Info: %+v", info)
	}
	must(t, m.Freeze())
	if err := m.Update(u32(1), u64(1)); !errors.Is(err, unix.EPERM) {
		t.Errorf("Update of a frozen map: %v, want EPERM", err)
	}
}

func TestMapBatchAPI(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	m, err := NewMap(MapSpec{Name: "api_batch", Type: uapi.MapTypeHash, KeySize: 4, ValueSize: 8, MaxEntries: 64})
	must(t, err)
	defer m.Close()

	const n = 16
	var keys, values []byte
	for k := uint32(0); k < n; k++ {
		keys = binary.NativeEndian.AppendUint32(keys, k)
		values = binary.NativeEndian.AppendUint64(values, uint64(k)+100)
	}
	count, err := m.BatchUpdate(keys, values, UpdateAny)
	must(t, err)
	if count != n {
		t.Fatalf("BatchUpdate stored %d of %d", count, n)
	}

	got := map[uint32]uint64{}
	var cursor BatchCursor
	outKeys, outValues := make([]byte, 5*4), make([]byte, 5*8)
	for range n {
		count, err := m.BatchLookup(&cursor, outKeys, outValues)
		for i := range count {
			got[binary.NativeEndian.Uint32(outKeys[4*i:])] = binary.NativeEndian.Uint64(outValues[8*i:])
		}
		if errors.Is(err, ErrKeyNotExist) {
			break
		}
		must(t, err)
	}
	if len(got) != n {
		t.Fatalf("batch lookup saw %d elements, want %d", len(got), n)
	}
	for k, v := range got {
		if v != uint64(k)+100 {
			t.Errorf("batch lookup: %d → %d", k, v)
		}
	}
	count, err = m.BatchDelete(keys)
	must(t, err)
	if count != n {
		t.Fatalf("BatchDelete deleted %d of %d", count, n)
	}
	if err := m.NextKey(nil, make([]byte, 4)); !errors.Is(err, ErrKeyNotExist) {
		t.Errorf("NextKey of an emptied map: %v", err)
	}
}

func TestMapPerCPU(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	cpus, err := PossibleCPUs()
	must(t, err)
	m, err := NewMap(MapSpec{Name: "api_percpu", Type: uapi.MapTypePerCPUArray, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	must(t, err)
	defer m.Close()
	var in [][]byte
	for cpu := range cpus {
		in = append(in, u32(uint32(cpu)*3+1))
	}
	must(t, m.UpdatePerCPU(u32(0), in, UpdateAny))
	out, err := m.LookupPerCPU(u32(0))
	must(t, err)
	if len(out) != cpus {
		t.Fatalf("%d values for %d CPUs", len(out), cpus)
	}
	for cpu, v := range out {
		if got := binary.NativeEndian.Uint32(v); got != uint32(cpu)*3+1 {
			t.Errorf("CPU %d: %d", cpu, got)
		}
	}
	if err := m.UpdatePerCPU(u32(0), in[:1], UpdateAny); cpus > 1 && err == nil {
		t.Error("one value accepted for several CPUs")
	}
}

// TestInnerMapAtRunTime inserts a map made at run time into a map of maps
// that a loaded program reads through.
func TestInnerMapAtRunTime(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("mapinmap.o"), nil)
	must(t, obj.Load(context.Background()))
	outer := obj.Map("outer_hash")
	spec := *outer.Spec().Inner
	spec.Name = "late_inner"
	inner, err := NewMap(spec)
	must(t, err)
	defer inner.Close()
	must(t, outer.Update(u32(3), u32(uint32(inner.FD()))))
	if got := testRun(t, obj.Program("mim_hash")); got != 1 {
		t.Fatalf("mim_hash returned %d", got)
	}
	value := make([]byte, 4)
	must(t, inner.Lookup(u32(0), value))
	if got := binary.NativeEndian.Uint32(value); got != 1 {
		t.Fatalf("the program wrote %d into the inner map made at run time, want 1", got)
	}
	if err := obj.Map("outer_hash").Close(); err == nil {
		t.Error("Close of an Object's map succeeded")
	}
}

func TestLoadPinnedMap(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	m, err := NewMap(MapSpec{Name: "api_pinned", Type: uapi.MapTypeArray, KeySize: 4, ValueSize: 8, MaxEntries: 4})
	must(t, err)
	defer m.Close()
	path := filepath.Join(bpffsDir(t), "api_pinned")
	must(t, m.Pin(path))
	again, err := LoadPinnedMap(path)
	must(t, err)
	defer again.Close()
	must(t, m.Update(u32(2), u64(77)))
	if got := lookupU64(t, again, 2); got != 77 {
		t.Fatalf("read %d through the pinned map, want 77", got)
	}
	if again.Spec().MaxEntries != 4 || again.Name() != "api_pinned" {
		t.Errorf("pinned map described as %+v", again.Spec())
	}
}
