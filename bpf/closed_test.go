package bpf

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// TestClosedObjectRefusesEverything checks invariant 7: after Close every
// operation of the Object's programs, maps and variables wraps ErrClosed.
func TestClosedObjectRefusesEverything(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("loader.o"), nil)
	dyn := obj.Program("prog_string")
	if err := dyn.SetLoadType(LoadDynamic); err != nil {
		t.Fatal(err)
	}
	if err := obj.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	v, err := obj.Variable("data_counter")
	if err != nil {
		t.Fatal(err)
	}
	if err := obj.Close(); err != nil {
		t.Fatal(err)
	}

	p, m := obj.Program("prog_counter"), obj.Map("results")
	key, value := u32(0), make([]byte, 8)
	ops := map[string]error{
		"Program.Load":          dyn.Load(),
		"Program.Unload":        p.Unload(),
		"Program.SetLoadType":   p.SetLoadType(LoadDynamic),
		"Program.SetAutoload":   p.SetAutoload(false),
		"Map.Create":            m.Create(),
		"Map.Destroy":           m.Destroy(),
		"Map.Lookup":            m.Lookup(key, value),
		"Map.Update":            m.Update(key, value),
		"Map.Delete":            m.Delete(key),
		"Variable.Read":         v.Read(make([]byte, v.Size())),
		"Variable.Write":        v.Write(make([]byte, v.Size())),
		"Object.Load":           obj.Load(context.Background()),
		"Program.Attach":        second(p.Attach()),
		"Program.TestRun":       second(p.TestRun(packet)),
		"Program.VerifiedInsns": second(p.VerifiedInsns()),
	}
	for name, err := range ops {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

// TestClosedMapNeverReachesAnotherObject races element writes through a
// closing Object against a second Object that may take over its fd
// numbers: no write may land in the second Object's map.
func TestClosedMapNeverReachesAnotherObject(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	for range 500 {
		a := mustOpen(t, testdata("loader.o"), nil)
		results := a.Map("results")
		if err := results.Create(); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		stop := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				results.Update(u32(1), u64(0xbad))
			}
		}()
		a.Close()
		b := mustOpen(t, testdata("loader.o"), nil)
		if err := b.Map("results").Create(); err != nil {
			t.Fatal(err)
		}
		close(stop)
		wg.Wait()
		if got := lookupU64(t, b.Map("results"), 1); got != 0 {
			t.Fatalf("a write through a closed Object landed in another Object's map: %#x", got)
		}
		b.Close()
	}
}
