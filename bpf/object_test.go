package bpf

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/syscall"
)

// TestLoaderObject runs every program of loader.o and checks what each
// leaves in maps and globals, as documented in testdata/README.md.
func TestLoaderObject(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("loader.o"), nil)
	if err := obj.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := map[string]uint32{"prog_counter": 1, "prog_loop": 42, "prog_maps": 3, "prog_string": 4}
	for name, ret := range want {
		if got := testRun(t, obj.Program(name)); got != ret {
			t.Errorf("%s returned %d, want %d", name, got, ret)
		}
	}
	counts, results := obj.Map("counts"), obj.Map("results")
	for key, want := range map[uint32]uint64{1: 1, 2: 1, 4: 1} {
		if got := lookupU64(t, counts, key); got != want {
			t.Errorf("counts[%d] = %d, want %d", key, got, want)
		}
	}
	for key, want := range map[uint32]uint64{0: 7, 1: 45, 2: 0x1234, 3: 5, 4: 7} {
		if got := lookupU64(t, results, key); got != want {
			t.Errorf("results[%d] = %d, want %d", key, got, want)
		}
	}
	for name, want := range map[string]uint64{"bss_hits": 1, "data_counter": 8, "str_len_seen": 7, "rodata_magic": 0x1234, "extra_val": 5} {
		if got := readVarU64(t, obj, name); got != want {
			t.Errorf("variable %s = %d, want %d", name, got, want)
		}
	}
	val := make([]byte, 4)
	if err := obj.Map("recent").Lookup(u32(3), val); err != nil || binary.NativeEndian.Uint32(val) != 33 {
		t.Errorf("recent[3] = %d (%v), want 33", binary.NativeEndian.Uint32(val), err)
	}
	cpus, err := PossibleCPUs()
	if err != nil {
		t.Fatal(err)
	}
	perCPU := make([]byte, 8*cpus)
	if err := obj.Map("percpu_hits").Lookup(u32(0), perCPU); err != nil {
		t.Fatal(err)
	}
	var sum uint64
	for i := range cpus {
		sum += binary.NativeEndian.Uint64(perCPU[i*8:])
	}
	if sum != 1 {
		t.Errorf("percpu_hits[0] sums to %d over %d CPUs, want 1", sum, cpus)
	}
}

func TestProgramMapsFromRelocations(t *testing.T) {
	obj := mustOpenNoKernel(t, testdata("loader.o"))
	want := map[string][]string{
		// .rodata is bound to every program, as libbpf does.
		"prog_counter": {"counts", "results", ".data", ".bss", ".rodata"},
		"prog_loop":    {"counts", "results", ".rodata"},
		"prog_maps":    {"events", "recent", "percpu_hits", "results", ".rodata", ".data.extra"},
		"prog_string":  {"counts", "results", ".bss", ".rodata.str1.1", ".rodata"},
	}
	for prog, names := range want {
		var got []string
		for _, m := range obj.Program(prog).Maps() {
			got = append(got, m.Name())
		}
		if !sameSet(got, names) {
			t.Errorf("%s uses %v, want %v", prog, got, names)
		}
	}
}

func mustOpenNoKernel(t *testing.T, path string) *Object {
	t.Helper()
	return mustOpen(t, path, nil)
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		seen[s]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestLegacyMaps(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("legacy.o"), nil)
	if err := obj.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := testRun(t, obj.Program("legacy_prog")); got != 5 {
		t.Errorf("legacy_prog returned %d, want 5", got)
	}
	if got := lookupU64(t, obj.Map("legacy_hash"), 5); got != 55 {
		t.Errorf("legacy_hash[5] = %d, want 55", got)
	}
	val := make([]byte, 4)
	if err := obj.Map("legacy_array").Lookup(u32(0), val); err != nil || binary.NativeEndian.Uint32(val) != 11 {
		t.Errorf("legacy_array[0] = %d (%v), want 11", binary.NativeEndian.Uint32(val), err)
	}
}

// TestInstructionsFinal checks the invariant rawload is built on: the
// bytes a program is loaded from never change after Open.
func TestInstructionsFinal(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("loader.o"), nil)
	before := map[string][]byte{}
	for _, p := range obj.Programs() {
		before[p.Name()] = p.Instructions()
	}
	same := func(step string) {
		t.Helper()
		for _, p := range obj.Programs() {
			if !bytes.Equal(p.Instructions(), before[p.Name()]) {
				t.Fatalf("%s: instructions of %s changed", step, p.Name())
			}
		}
	}
	if err := obj.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	same("after Object.Load")
	prog := obj.Program("prog_counter")
	if err := prog.Unload(); err != nil {
		t.Fatal(err)
	}
	if err := prog.Load(); err != nil {
		t.Fatal(err)
	}
	same("after Unload and Load")
	for _, p := range obj.Programs() {
		p.Unload()
	}
	counts := obj.Map("counts")
	slot := counts.FD()
	if err := counts.Destroy(); err != nil {
		t.Fatal(err)
	}
	if err := counts.Create(); err != nil {
		t.Fatal(err)
	}
	if counts.FD() != slot {
		t.Fatalf("slot moved from %d to %d", slot, counts.FD())
	}
	if err := prog.Load(); err != nil {
		t.Fatal(err)
	}
	same("after Destroy, Create and Load")
	if got := testRun(t, prog); got != 1 {
		t.Fatalf("prog_counter returned %d after recreation", got)
	}
	if got := lookupU64(t, counts, 1); got != 1 {
		t.Errorf("counts[1] = %d in the recreated map, want 1", got)
	}
}

// TestVerifierRejection loads an object whose program the verifier
// refuses: the error carries the log, and no fd outlives Close.
func TestVerifierRejection(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj, err := Open(testdata("invalid.o"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	err = obj.Load(context.Background())
	var verr *VerifierError
	if !errors.As(err, &verr) {
		t.Fatalf("Load: %v, want a *VerifierError", err)
	}
	if verr.Program != "bad_prog" || !errors.Is(err, unix.EACCES) {
		t.Errorf("error names %q with errno %v, want bad_prog and EACCES", verr.Program, verr.Errno)
	}
	if !strings.Contains(verr.Log, "invalid mem access 'map_value_or_null'") {
		t.Errorf("log lacks the verifier's complaint:\n%s", verr.Log)
	}
	// The failed load rolls back the program that did load and the map.
	if fd := obj.Program("good_prog").FD(); fd != -1 {
		t.Errorf("good_prog still loaded (fd %d) after the failed Object.Load", fd)
	}
	if obj.Map("invalid_values").Live() {
		t.Error("invalid_values still live after the failed Object.Load")
	}
}

func TestMapSlotHoldsPlaceholder(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("loader.o"), nil)
	m := obj.Map("results")
	if _, err := syscall.MapInfoByFD(m.FD()); err == nil {
		t.Fatal("slot of a map not created yet answers as a map")
	}
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	info, err := syscall.MapInfoByFD(m.FD())
	if err != nil || info.Type != uapi.MapTypeArray || info.MaxEntries != 8 {
		t.Fatalf("created map: %+v, %v", info, err)
	}
}

// TestStats: an Object counts the work its loads cost.
func TestStats(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("loader.o"), nil)
	must(t, obj.Load(context.Background()))
	s := obj.Stats()
	live := 0
	for _, m := range obj.Maps() {
		if m.Live() {
			live++
		}
	}
	if s.ProgLoads != 4 || s.MapsCreated != live || s.Restarts != 0 {
		t.Fatalf("stats count %d loads, %d maps, %d restarts; want 4, %d, 0", s.ProgLoads, s.MapsCreated, s.Restarts, live)
	}
	if s.Open <= 0 || s.ProgLoad <= 0 || s.MapCreate <= 0 || s.ObjectBTF <= 0 {
		t.Fatalf("a phase took no time: %+v", s)
	}
	p := obj.Program("prog_loop")
	must(t, p.Unload())
	must(t, p.Load())
	if got := obj.Stats().ProgLoads; got != 5 {
		t.Fatalf("%d loads counted after a reload, want 5", got)
	}
}
