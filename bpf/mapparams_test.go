package bpf

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/rawload/rawload/internal/kernel"
	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/reloc"
	"github.com/rawload/rawload/syscall"
)

// TestResizeAtRunTime resizes a map that loaded programs use, without
// relocating: unload its users, destroy it, set its size, create it and
// load them again, from the same instruction bytes.
func TestResizeAtRunTime(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("loader.o"), nil)
	must(t, obj.Load(context.Background()))
	counts := obj.Map("counts")
	if err := counts.SetMaxEntries(1024); !errors.Is(err, ErrMapLive) {
		t.Fatalf("SetMaxEntries of a live map: %v, want ErrMapLive", err)
	}
	var users []*Program
	before := map[*Program][]byte{}
	for _, p := range obj.Programs() {
		if contains(p.Maps(), counts) {
			users = append(users, p)
			before[p] = p.Instructions()
			must(t, p.Unload())
		}
	}
	fd := counts.FD()
	must(t, counts.Destroy())
	must(t, counts.SetMaxEntries(1024))
	must(t, counts.Create())
	for _, p := range users {
		must(t, p.Load())
		if !bytes.Equal(p.Instructions(), before[p]) {
			t.Errorf("%s: instructions changed by the resize", p.Name())
		}
	}
	if counts.FD() != fd {
		t.Errorf("slot moved from %d to %d", fd, counts.FD())
	}
	info, err := syscall.MapInfoByFD(counts.FD())
	must(t, err)
	if info.MaxEntries != 1024 || counts.Spec().MaxEntries != 1024 {
		t.Fatalf("kernel says %d entries, Spec %d, want 1024", info.MaxEntries, counts.Spec().MaxEntries)
	}
	// The programs run against the resized map: prog_counter bumps
	// counts[0] (testdata/README.md).
	testRun(t, obj.Program("prog_counter"))
	assertProgramMaps(t, obj.Program("prog_counter"))
}

func TestRingBufferSize(t *testing.T) {
	page := uint32(os.Getpagesize())
	for _, c := range []struct{ in, want uint32 }{
		{0, 0},
		{1, page},
		{page, page},
		{page + 1, 2 * page},
		{3 * page, 4 * page},
		{256 << 10, 256 << 10},
		{1<<32 - 1, 1<<32 - 1},
	} {
		if got := ringBufferSize(c.in); got != c.want {
			t.Errorf("ringBufferSize(%d) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestMapDefaults(t *testing.T) {
	env := kernel.System()
	cpus, err := env.PossibleCPUs()
	must(t, err)
	perf := &reloc.MapSpec{Name: "events", Type: uapi.MapTypePerfEventArray, KeySize: 4, ValueSize: 4}
	must(t, applyMapDefaults(env, perf))
	if perf.MaxEntries != uint32(cpus) {
		t.Errorf("perf event array: %d entries, want %d possible CPUs", perf.MaxEntries, cpus)
	}
	ring := &reloc.MapSpec{Name: "rb", Type: uapi.MapTypeRingBuf, MaxEntries: 5000}
	must(t, applyMapDefaults(env, ring))
	if ring.MaxEntries != ringBufferSize(5000) {
		t.Errorf("ring buffer: %d", ring.MaxEntries)
	}

	unsized := &reloc.MapSpec{Name: "conns", Type: uapi.MapTypeHash, KeySize: 4, ValueSize: 8}
	if err := checkSize(unsized); err == nil || !strings.Contains(err.Error(), "--max-entries conns=N") {
		t.Errorf("hash without max_entries: %v", err)
	}
	storage := &reloc.MapSpec{Name: "task_store", Type: uapi.MapTypeTaskStorage, KeySize: 4, ValueSize: 8}
	if err := checkSize(storage); err != nil {
		t.Errorf("task storage takes no max_entries: %v", err)
	}
}

func TestSetParams(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("loader.o"), nil)
	if err := obj.Map(".data").SetValueSize(16); err == nil {
		t.Error("SetValueSize of a global data map succeeded")
	}
	results := obj.Map("results")
	must(t, results.SetValueSize(16))
	must(t, results.Create())
	info, err := syscall.MapInfoByFD(results.FD())
	must(t, err)
	if info.ValueSize != 16 {
		t.Errorf("value size %d after SetValueSize(16)", info.ValueSize)
	}
	if err := results.Update(u32(0), make([]byte, 8)); err == nil {
		t.Error("an 8-byte value accepted by a map of 16-byte values")
	}
	must(t, results.Update(u32(0), make([]byte, 16)))
	obj.Close()
	if err := results.SetMaxEntries(3); !errors.Is(err, ErrClosed) {
		t.Errorf("SetMaxEntries after Close: %v", err)
	}
}
