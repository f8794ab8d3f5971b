package bpf

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// dynloadObject opens testdata/dynload.o, the port of libbpf's
// test_dynamicload object, with my_pid set so only this process raises
// the flags.
func dynloadObject(t *testing.T) *Object {
	t.Helper()
	obj := mustOpen(t, testdata("dynload.o"), nil)
	pid, err := obj.Variable("my_pid")
	if err != nil {
		t.Fatal(err)
	}
	if err := pid.Write(u32(uint32(os.Getpid()))); err != nil {
		t.Fatal(err)
	}
	return obj
}

// called resets the progN_called flags, makes a syscall and reports which
// programs ran.
func called(t *testing.T, obj *Object) [3]bool {
	t.Helper()
	// Any thread of this process triggers the programs. A run that began
	// on another CPU before a link closed may still be finishing: let it,
	// so it cannot raise a flag after the reset below.
	time.Sleep(5 * time.Millisecond)
	vars := [3]string{"prog1_called", "prog2_called", "prog3_called"}
	for _, name := range vars {
		v, _ := obj.Variable(name)
		if err := v.Write(u32(0)); err != nil {
			t.Fatal(err)
		}
	}
	unix.Getppid()
	var ran [3]bool
	for i, name := range vars {
		ran[i] = readVarU64(t, obj, name) == 1
	}
	return ran
}

func attach(t *testing.T, p *Program) *Link {
	t.Helper()
	l, err := p.Attach()
	if err != nil {
		t.Fatalf("attach %s: %v", p.Name(), err)
	}
	return l
}

// TestDynamicLoad ports the libbpf patch's prog_tests/dynamicload.c.
func TestDynamicLoad(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := dynloadObject(t)
	prog1, prog2, prog3 := obj.Program("prog1"), obj.Program("prog2"), obj.Program("prog3")
	must(t, prog1.SetLoadType(LoadDisabled))
	must(t, prog2.SetLoadType(LoadAuto))
	must(t, prog3.SetLoadType(LoadDynamic))
	must(t, obj.Load(context.Background()))

	if prog1.FD() != -1 || prog3.FD() != -1 || prog2.FD() < 0 {
		t.Fatalf("after Object.Load fds are %d %d %d: only the auto program may be loaded", prog1.FD(), prog2.FD(), prog3.FD())
	}
	if err := prog1.Load(); !errors.Is(err, ErrDisabled) {
		t.Fatalf("loading the disabled program: %v, want ErrDisabled", err)
	}
	link2 := attach(t, prog2)
	defer link2.Close()
	if ran := called(t, obj); ran != [3]bool{false, true, false} {
		t.Fatalf("after attaching the auto program, ran = %v", ran)
	}

	must(t, prog3.Load())
	link3 := attach(t, prog3)
	if ran := called(t, obj); ran != [3]bool{false, true, true} {
		t.Fatalf("after loading and attaching the dynamic program, ran = %v", ran)
	}
	must(t, link3.Close())
	if ran := called(t, obj); ran != [3]bool{false, true, false} {
		t.Fatalf("after detaching the dynamic program, ran = %v", ran)
	}
	// libbpf's patch frees a program's instructions after load, so it
	// needs a reopened object to load again; rawload's instructions are
	// never freed, so unload and reload simply work.
	must(t, prog3.Unload())
	must(t, prog3.Load())
	link3 = attach(t, prog3)
	defer link3.Close()
	if ran := called(t, obj); ran != [3]bool{false, true, true} {
		t.Fatalf("after unload, load and attach, ran = %v", ran)
	}
	// rawload lets Auto programs be unloaded and reloaded too; the link
	// keeps the unloaded program running until it is closed.
	must(t, prog2.Unload())
	must(t, link2.Close())
	if ran := called(t, obj); ran != [3]bool{false, false, true} {
		t.Fatalf("after unloading and detaching the auto program, ran = %v", ran)
	}
	if ran := called(t, obj); ran[0] {
		t.Fatal("the disabled program ran")
	}
}

// TestLoadType ports prog_tests/load_type.c: load types and autoload.
func TestLoadType(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := dynloadObject(t)
	prog1, prog2, prog3 := obj.Program("prog1"), obj.Program("prog2"), obj.Program("prog3")
	for _, p := range obj.Programs() {
		if p.LoadType() != LoadAuto {
			t.Fatalf("%s starts as %v, want auto", p.Name(), p.LoadType())
		}
	}
	must(t, prog1.SetAutoload(false))
	if prog1.LoadType() != LoadDisabled {
		t.Fatalf("SetAutoload(false) on an auto program gives %v", prog1.LoadType())
	}
	must(t, prog2.SetLoadType(LoadAuto))

	must(t, prog3.SetLoadType(LoadDynamic))
	// SetAutoload(false) has no effect on a program that is not Auto.
	must(t, prog3.SetAutoload(false))
	if prog3.LoadType() != LoadDynamic {
		t.Fatalf("SetAutoload(false) changed a dynamic program to %v", prog3.LoadType())
	}
	must(t, prog3.SetAutoload(true))
	if prog3.LoadType() != LoadAuto {
		t.Fatalf("SetAutoload(true) on a dynamic program gives %v, want auto", prog3.LoadType())
	}
	must(t, prog3.SetLoadType(LoadDynamic))
	if prog3.LoadType() != LoadDynamic {
		t.Fatalf("changing auto back to dynamic gives %v", prog3.LoadType())
	}

	must(t, obj.Load(context.Background()))
	for _, p := range []*Program{prog1, prog2, prog3} {
		if err := p.SetLoadType(LoadDisabled); !errors.Is(err, ErrLoadTypeFixed) {
			t.Errorf("SetLoadType after Object.Load on %s: %v", p.Name(), err)
		}
		if err := p.SetAutoload(true); !errors.Is(err, ErrLoadTypeFixed) {
			t.Errorf("SetAutoload after Object.Load on %s: %v", p.Name(), err)
		}
	}
	if prog1.FD() != -1 || prog2.FD() < 0 || prog3.FD() != -1 {
		t.Fatalf("loaded fds: %d %d %d, want only prog2", prog1.FD(), prog2.FD(), prog3.FD())
	}
	link2 := attach(t, prog2)
	defer link2.Close()
	if ran := called(t, obj); ran != [3]bool{false, true, false} {
		t.Fatalf("ran = %v, want only prog2", ran)
	}
	// Loading a loaded program again is a no-op that succeeds.
	must(t, prog3.Load())
	fd := prog3.FD()
	must(t, prog3.Load())
	if prog3.FD() != fd {
		t.Fatalf("second Load replaced fd %d with %d", fd, prog3.FD())
	}
	link3 := attach(t, prog3)
	if ran := called(t, obj); ran != [3]bool{false, true, true} {
		t.Fatalf("ran = %v after loading and attaching prog3", ran)
	}
	must(t, link3.Close())
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestDestroyRecreate drops a map with no loaded users and brings it
// back in the same fd number: the reloaded program, never relocated
// again, writes into the new map.
func TestDestroyRecreate(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := openDynamic(t, testdata("loader.o"), nil)
	prog := obj.Program("prog_loop")
	results := obj.Map("results")
	slot := results.FD()
	must(t, prog.Load())
	testRun(t, prog)
	if got := lookupU64(t, results, 1); got != 45 {
		t.Fatalf("results[1] = %d, want 45", got)
	}
	must(t, results.Update(u32(7), u64(99)))
	oldInfo := mapID(t, results)

	if err := results.Destroy(); !errors.Is(err, ErrMapInUse) {
		t.Fatalf("Destroy with a loaded user: %v, want ErrMapInUse", err)
	}
	must(t, prog.Unload())
	must(t, results.Destroy())
	if results.Live() || results.FD() != slot {
		t.Fatalf("after Destroy: live %v, slot %d (was %d)", results.Live(), results.FD(), slot)
	}
	if ph, err := obj.table.IsPlaceholder(slot); err != nil || !ph {
		t.Fatalf("slot %d holds the placeholder: %v %v", slot, ph, err)
	}
	must(t, results.Create())
	if mapID(t, results) == oldInfo {
		t.Fatal("recreated map has the old map's id")
	}
	before := prog.Instructions()
	must(t, prog.Load())
	if string(before) != string(prog.Instructions()) {
		t.Fatal("instructions changed")
	}
	if got := lookupU64(t, results, 7); got != 0 {
		t.Errorf("results[7] = %d in the new map, want 0", got)
	}
	testRun(t, prog)
	if got := lookupU64(t, results, 1); got != 45 {
		t.Errorf("results[1] = %d after the reloaded program ran, want 45", got)
	}
	if results.FD() != slot {
		t.Errorf("slot moved to %d", results.FD())
	}
	assertProgramMaps(t, prog)
}

func mapID(t *testing.T, m *Map) uint32 {
	t.Helper()
	info, err := syscallMapInfo(m.FD())
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// TestReleaseUnusedMaps destroys a map with its last loaded user.
func TestReleaseUnusedMaps(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := openDynamic(t, testdata("loader.o"), &Options{ReleaseUnusedMaps: true})
	counter, loop := obj.Program("prog_counter"), obj.Program("prog_loop")
	counts := obj.Map("counts")
	must(t, counter.Load())
	must(t, loop.Load())
	if counts.Users() != 2 {
		t.Fatalf("counts has %d users, want 2", counts.Users())
	}
	must(t, counter.Unload())
	if !counts.Live() || counts.Users() != 1 {
		t.Fatalf("after one of two users unloaded: live %v users %d", counts.Live(), counts.Users())
	}
	must(t, loop.Unload())
	if counts.Live() {
		t.Fatal("counts still live after its last user unloaded")
	}
	if obj.Map(".data").Live() {
		t.Fatal(".data still live after its only user unloaded")
	}
}

// TestRecreatedGlobalDataStartsFresh checks that a destroyed global data
// map comes back with the object's initial contents.
func TestRecreatedGlobalDataStartsFresh(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("loader.o"), nil)
	must(t, obj.Load(context.Background()))
	counter := obj.Program("prog_counter")
	testRun(t, counter)
	testRun(t, counter)
	if got := readVarU64(t, obj, "data_counter"); got != 9 {
		t.Fatalf("data_counter = %d after two runs, want 9", got)
	}
	must(t, counter.Unload())
	data := obj.Map(".data")
	must(t, data.Destroy())
	must(t, counter.Load())
	if got := readVarU64(t, obj, "data_counter"); got != 7 {
		t.Fatalf("data_counter = %d in the recreated map, want 7", got)
	}
}

func TestRodataSetBeforeLoad(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("loader.o"), nil)
	magic, err := obj.Variable("rodata_magic")
	must(t, err)
	must(t, magic.Write(u32(0xbeef)))
	must(t, obj.Load(context.Background()))
	testRun(t, obj.Program("prog_maps"))
	if got := lookupU64(t, obj.Map("results"), 2); got != 0xbeef {
		t.Fatalf("results[2] = %#x, want the rodata value set before load, 0xbeef", got)
	}
	if err := magic.Write(u32(1)); err == nil {
		t.Fatal("wrote .rodata after it was frozen")
	}
	buf := make([]byte, 4)
	must(t, magic.Read(buf))
	if binary.NativeEndian.Uint32(buf) != 0xbeef {
		t.Fatalf("rodata_magic reads %#x", binary.NativeEndian.Uint32(buf))
	}
}
