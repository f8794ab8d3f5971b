package bpf

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/syscall"
)

// stressDuration bounds each phase of the lifecycle stress test: long
// enough for thousands of racing calls, short enough for CI under -race.
const stressDuration = 2 * time.Second

// allowedStressError reports whether err is one the lifecycle may give
// under racing calls and injected faults: anything else is a defect.
func allowedStressError(err error) bool {
	for _, ok := range []error{ErrMapInUse, ErrMapNotLive, ErrNotLoaded, ErrClosed, injected} {
		if errors.Is(err, ok) {
			return true
		}
	}
	return err == nil
}

// randomFaults fails about one bpf(2) in fifty with the injected errno,
// counting them in n.
func randomFaults(n *atomic.Int64) (stop func()) {
	syscall.SetFaultHook(func(int) unix.Errno {
		if rand.N(50) == 0 {
			n.Add(1)
			return injected
		}
		return 0
	})
	return func() { syscall.SetFaultHook(nil) }
}

// TestConcurrentLifecycle races loads, unloads, map destroys and creates,
// element reads and writes and test runs on one Object, against other
// Objects opened, loaded, written through Variables and closed, with
// random injected faults. Then it checks invariants 2-4 of DESIGN.md:
// every loaded program sees exactly the live maps in its slots, user
// counts match, and after a Close that races the calls too, nothing leaks.
func TestConcurrentLifecycle(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj, err := Open(testdata("many.o"), nil)
	must(t, err)
	progs, maps := obj.Programs(), obj.Maps()
	for _, p := range progs {
		must(t, p.SetLoadType(LoadDynamic))
	}
	must(t, obj.Load(context.Background()))

	var calls, faults atomic.Int64
	run := func(until time.Time, workers int) error {
		var wg sync.WaitGroup
		errs := make(chan error, workers+1)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
				for time.Now().Before(until) {
					calls.Add(1)
					if err := stressStep(rng, progs, maps); !allowedStressError(err) {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(until) {
				calls.Add(1)
				if err := otherObject(); !allowedStressError(err) {
					errs <- err
					return
				}
			}
		}()
		wg.Wait()
		close(errs)
		return <-errs
	}

	// Phase 1: race with faults, then check the invariants at rest.
	stop := randomFaults(&faults)
	err = run(time.Now().Add(stressDuration), 6)
	stop()
	if err != nil {
		t.Fatal(err)
	}
	checkLifecycleInvariants(t, progs, maps)

	// Phase 2: the same race, and Close in the middle of it.
	stop = randomFaults(&faults)
	done := make(chan error, 1)
	go func() { done <- run(time.Now().Add(stressDuration/2), 6) }()
	time.Sleep(stressDuration / 4)
	closeErr := obj.Close()
	err = <-done
	stop()
	if err != nil {
		t.Fatal(err)
	}
	if closeErr != nil && !errors.Is(closeErr, injected) {
		t.Fatalf("Close: %v", closeErr)
	}
	for _, p := range progs {
		if err := p.Load(); !errors.Is(err, ErrClosed) {
			t.Fatalf("%s: Load after Close: %v", p.Name(), err)
		}
	}
	t.Logf("%d racing calls, %d injected faults", calls.Load(), faults.Load())
}

// stressStep is one random lifecycle or element call on many.o.
func stressStep(rng *rand.Rand, progs []*Program, maps []*Map) error {
	p := progs[rng.IntN(len(progs))]
	m := maps[rng.IntN(len(maps))]
	key := u32(uint32(rng.IntN(4)))
	value := make([]byte, 8)
	if size, err := m.valueBufferSize(); err == nil {
		value = make([]byte, size)
	}
	switch rng.IntN(7) {
	case 0:
		return p.Load()
	case 1:
		return p.Unload()
	case 2:
		return m.Destroy()
	case 3:
		return m.Create()
	case 4:
		return m.Update(key, value)
	case 5:
		if err := m.Lookup(key, value); !errors.Is(err, unix.ENOENT) {
			return err
		}
		return nil
	default:
		_, err := p.TestRun(packet)
		return err
	}
}

// otherObject opens loader.o, configures it through a Variable, loads it,
// writes and reads globals, runs a program and closes it: a second
// Object whose fd numbers come and go beside the first's.
func otherObject() error {
	obj, err := Open(testdata("loader.o"), nil)
	if err != nil {
		return err
	}
	defer obj.Close()
	v, err := obj.Variable("data_counter")
	if err != nil {
		return err
	}
	if err := v.Write(u64(7)); err != nil {
		return err
	}
	if err := obj.Load(context.Background()); err != nil {
		return err
	}
	if _, err := obj.Program("prog_counter").TestRun(packet); err != nil {
		return err
	}
	buf := make([]byte, 8)
	return v.Read(buf)
}

// checkLifecycleInvariants checks, with nothing running, that every loaded
// program holds exactly the live maps in its slots and that each map
// counts as many users as loaded programs use it.
func checkLifecycleInvariants(t *testing.T, progs []*Program, maps []*Map) {
	t.Helper()
	var loaded int
	for _, p := range progs {
		if p.FD() < 0 {
			continue
		}
		loaded++
		assertProgramMaps(t, p)
		if ret := testRun(t, p); ret != uint32(indexOf(progs, p)) {
			t.Errorf("%s returned %d", p.Name(), ret)
		}
	}
	for _, m := range maps {
		users := 0
		for _, p := range progs {
			if p.FD() >= 0 && contains(p.Maps(), m) {
				users++
			}
		}
		if m.Users() != users {
			t.Errorf("map %s counts %d users, %d loaded programs use it", m.Name(), m.Users(), users)
		}
		if users > 0 && !m.Live() {
			t.Errorf("map %s has loaded users but is not live", m.Name())
		}
	}
	t.Logf("%d of %d programs loaded at rest", loaded, len(progs))
}

func indexOf[T comparable](s []T, v T) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func contains[T comparable](s []T, v T) bool { return indexOf(s, v) >= 0 }
