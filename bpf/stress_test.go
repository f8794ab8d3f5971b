package bpf

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
)

// TestConcurrentLifecycle runs random loads, unloads, map destroys and
// creates from 8 goroutines, then checks that every loaded program sees
// exactly the live maps in its slots, and that Close leaks nothing.
func TestConcurrentLifecycle(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj, err := Open(testdata("many.o"), nil)
	must(t, err)
	progs, maps := obj.Programs(), obj.Maps()
	if len(progs) < 20 {
		t.Fatalf("many.o has %d programs, want at least 20", len(progs))
	}
	for _, p := range progs {
		must(t, p.SetLoadType(LoadDynamic))
	}
	must(t, obj.Load(context.Background()))

	const workers, steps = 8, 200
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for range steps {
				p := progs[rng.IntN(len(progs))]
				m := maps[rng.IntN(len(maps))]
				var err error
				switch rng.IntN(4) {
				case 0:
					err = p.Load()
				case 1:
					err = p.Unload()
				case 2:
					if err = m.Destroy(); errors.Is(err, ErrMapInUse) {
						err = nil
					}
				case 3:
					err = m.Create()
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
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
	t.Logf("%d of %d programs loaded at the end", loaded, len(progs))
	must(t, obj.Close())
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
