package bpf

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/syscall"
)

// TestParallelLoadSameResult loads the 200-program object serially and
// with two workers: both load every program, and every program computes
// the same sums.
func TestParallelLoadSameResult(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	var results [2][]uint64
	for i, parallelism := range []int{1, 2} {
		obj := mustOpen(t, testdata("huge.o"), &Options{Parallelism: parallelism})
		if n := len(obj.Programs()); n < 200 {
			t.Fatalf("huge.o has %d programs, want at least 200", n)
		}
		must(t, obj.Load(context.Background()))
		for j, p := range obj.Programs() {
			if ret := testRun(t, p); ret != uint32(j%256) {
				t.Fatalf("parallelism %d: %s returned %d, want %d", parallelism, p.Name(), ret, j)
			}
		}
		sums := obj.Map("huge_sums")
		for key := range uint32(200) {
			results[i] = append(results[i], lookupU64(t, sums, key))
		}
		must(t, obj.Close())
	}
	for key := range results[0] {
		want := []uint64{2016, 8128, 18336, 32640}[key%4]
		if results[0][key] != want || results[1][key] != want {
			t.Fatalf("huge_sums[%d] = %d serial, %d parallel, want %d", key, results[0][key], results[1][key], want)
		}
	}
}

// BenchmarkObjectLoad times Object.Load of the 200-program object with 1
// and 2 workers. Verification is nearly all of it, so the ratio shows how
// well the loader keeps the cores busy.
func BenchmarkObjectLoad(b *testing.B) {
	requireKernel(b)
	for _, parallelism := range []int{1, 2} {
		b.Run(fmt.Sprintf("parallelism=%d", parallelism), func(b *testing.B) {
			restarts := 0
			for b.Loop() {
				obj, err := Open(testdata("huge.o"), &Options{Parallelism: parallelism})
				if err != nil {
					b.Fatal(err)
				}
				if err := obj.Load(context.Background()); err != nil {
					b.Fatal(err)
				}
				for _, p := range obj.Programs() {
					restarts += p.Restarts()
				}
				obj.Close()
			}
			b.ReportMetric(float64(restarts)/float64(b.N), "restarts/op")
		})
	}
}

// TestObjectLoadCancelled: a cancelled context stops Object.Load, which
// then undoes whatever it had loaded and created.
func TestObjectLoadCancelled(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("huge.o"), &Options{Parallelism: 2})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := obj.Load(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Load with a cancelled context: %v, want context.Canceled", err)
	}
	for _, p := range obj.Programs() {
		if p.FD() >= 0 {
			t.Fatalf("%s still loaded after a cancelled Object.Load", p.Name())
		}
	}
	for _, m := range obj.Maps() {
		if m.Live() {
			t.Fatalf("map %s still live after a cancelled Object.Load", m.Name())
		}
	}
}

// A load of a few small programs runs on the calling goroutine by
// default, where a second worker costs more than it overlaps; a heavy
// one spreads over the workers. Each PROG_LOAD records which goroutine
// made it.
func TestDefaultWorkersByWeight(t *testing.T) {
	requireKernel(t)
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs GOMAXPROCS of 2 or more")
	}
	loaders := func(path string, opts *Options) int {
		var mu sync.Mutex
		seen := map[string]bool{}
		old := syscall.SetFaultHook(func(cmd int) unix.Errno {
			if cmd == uapi.CmdProgLoad {
				buf := make([]byte, 64)
				id := strings.Fields(string(buf[:runtime.Stack(buf, false)]))[1]
				mu.Lock()
				seen[id] = true
				mu.Unlock()
			}
			return 0
		})
		defer syscall.SetFaultHook(old)
		obj := mustOpen(t, path, opts)
		defer obj.Close()
		must(t, obj.Load(context.Background()))
		return len(seen)
	}
	if n := loaders(testdata("tool_sockfilter.o"), nil); n != 1 {
		t.Errorf("tool_sockfilter.o (2 small programs): loaded from %d goroutines, want the caller's alone", n)
	}
	if n := loaders(testdata("tool_sockfilter.o"), &Options{Parallelism: 2}); n > 2 {
		t.Errorf("tool_sockfilter.o with Parallelism 2: %d goroutines", n)
	}
	if n := loaders(testdata("huge.o"), nil); n < 2 {
		t.Errorf("huge.o (200 programs): loaded from %d goroutine, want the workers", n)
	}
}
