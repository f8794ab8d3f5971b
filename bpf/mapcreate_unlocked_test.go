package bpf

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/syscall"
)

// blockMapCreate holds the next MAP_CREATE in the kernel's place until
// the returned release is called; entered is closed once it is held.
func blockMapCreate(t *testing.T) (entered <-chan struct{}, release func()) {
	t.Helper()
	in := make(chan struct{})
	out := make(chan struct{})
	var once sync.Once
	syscall.SetFaultHook(func(cmd int) unix.Errno {
		if cmd == uapi.CmdMapCreate {
			held := false
			once.Do(func() { held = true })
			if held {
				close(in)
				<-out
			}
		}
		return 0
	})
	var released sync.Once
	release = func() { released.Do(func() { close(out) }) }
	t.Cleanup(func() {
		release()
		syscall.SetFaultHook(nil)
	})
	return in, release
}

// within runs f and fails the test if it has not returned after a long
// while: what f does must not wait for the held MAP_CREATE. The bound is
// for a hang, not a speed. f reports through its error alone, as it may
// outlive the test.
func within(t *testing.T, what string, f func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s waited for another program's map creation", what)
	}
}

// TestMapCreateOutsideObjectLock holds the creation of prog_maps' LRU map
// in the kernel: meanwhile another program of the Object loads and runs,
// and the getters answer. Then the definition changes under the held
// creation: the map that was being created from the old one is not
// installed, and prog_maps ends up with a map of the new size.
func TestMapCreateOutsideObjectLock(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := openDynamic(t, testdata("loader.o"), nil)
	counter, maps := obj.Program("prog_counter"), obj.Program("prog_maps")
	recent := obj.Map("recent")
	for _, m := range obj.Maps() {
		if m != recent {
			must(t, m.Create())
		}
	}

	entered, release := blockMapCreate(t)
	loaded := make(chan error, 1)
	go func() { loaded <- maps.Load() }()
	select {
	case <-entered:
	case err := <-loaded:
		t.Fatalf("prog_maps loaded (%v) without creating map recent", err)
	}

	within(t, "another program's load", counter.Load)
	if ret := testRun(t, counter); ret != 1 {
		t.Fatalf("prog_counter returned %d, want 1", ret)
	}
	within(t, "the getters", func() error {
		if fd := maps.FD(); fd >= 0 {
			return fmt.Errorf("prog_maps has fd %d while its map is being created", fd)
		}
		if n := obj.Map("counts").Users(); n != 1 {
			return fmt.Errorf("counts has %d users, want 1 (prog_counter)", n)
		}
		if s := obj.Stats(); s.ProgLoads != 1 {
			return fmt.Errorf("Stats: %d program loads, want 1", s.ProgLoads)
		}
		return nil
	})
	const entries = 32
	within(t, "a change of definition", func() error { return recent.SetMaxEntries(entries) })
	release()
	must(t, <-loaded)

	if ret := testRun(t, maps); ret != 3 {
		t.Fatalf("prog_maps returned %d, want 3", ret)
	}
	assertProgramMaps(t, maps)
	info, err := syscall.MapInfoByFD(recent.FD())
	must(t, err)
	if info.MaxEntries != entries {
		t.Fatalf("recent has %d entries, want %d: the map created from the old definition was installed", info.MaxEntries, entries)
	}
	if n := recent.Users(); n != 1 {
		t.Fatalf("recent has %d users, want 1", n)
	}
}

// TestMapCreateUnlockedRace loads, unloads, destroys, resizes and creates
// one map from several goroutines at once (run it with -race): after
// each round a loaded program uses the map in the slot, and a live map
// has the size of its definition.
func TestMapCreateUnlockedRace(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := openDynamic(t, testdata("loader.o"), nil)
	recent := obj.Map("recent")
	maps := obj.Program("prog_maps")

	for round := range 8 {
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 10 {
					switch (round + g + i) % 4 {
					case 0:
						maps.Load()
					case 1:
						maps.Unload()
					case 2:
						recent.Destroy()
					case 3:
						recent.SetMaxEntries(uint32(16 + (round+g+i)%3*8))
					}
					recent.Create()
				}
			}()
		}
		wg.Wait()
		assertProgramMaps(t, maps)
		if !recent.Live() {
			continue
		}
		info, err := syscall.MapInfoByFD(recent.FD())
		must(t, err)
		if want := recent.Spec().MaxEntries; info.MaxEntries != want {
			t.Fatalf("round %d: recent has %d entries, its definition says %d", round, info.MaxEntries, want)
		}
	}
}
