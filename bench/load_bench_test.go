package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/rawload/rawload/bpf"
)

// BenchmarkLoadHuge loads all 200 programs of huge.o, each ~19 ms of
// verification: kernel time dominates, and what a loader can win is
// keeping every core verifying. cilium/ebpf loads a collection's programs
// one after another, so it runs once; rawload runs with 1 and 2 workers.
func BenchmarkLoadHuge(b *testing.B) {
	requireKernel(b)
	const path = "../testdata/huge.o"
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("rawload/parallel=%d", workers), func(b *testing.B) {
			benchRawload(b, path, &bpf.Options{Parallelism: workers})
		})
	}
	b.Run("cilium", func(b *testing.B) { benchCilium(b, path) })
}

// BenchmarkLoadTrivial loads an object of cheap programs, whose syscalls
// take little time next to the loader's own work: cilium/ebpf's
// manyprogs-el.elf, 30 programs with CO-RE relocations. If rawload cannot
// load it, both loaders fall back to ../testdata/many.o, 24 trivial
// programs without CO-RE, and the benchmark says so in its log.
func BenchmarkLoadTrivial(b *testing.B) {
	requireKernel(b)
	path := trivialObject(b)
	b.Run("rawload", func(b *testing.B) { benchRawload(b, path, nil) })
	b.Run("cilium", func(b *testing.B) { benchCilium(b, path) })
}

// BenchmarkOpen measures reading and relocating an object without loading
// anything: bpf.Open (which also reserves the map fd slots) and Close for
// rawload, LoadCollectionSpec for cilium/ebpf.
func BenchmarkOpen(b *testing.B) {
	const path = "../testdata/loader.o"
	b.Run("rawload", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			obj, err := bpf.Open(path, nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := obj.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cilium", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ebpf.LoadCollectionSpec(path); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchRawload opens, loads every program of, and closes path once per
// iteration, and reports the programs loaded and the verifications the
// kernel restarted because a signal interrupted them.
func benchRawload(b *testing.B, path string, opts *bpf.Options) {
	var programs, restarts int
	for b.Loop() {
		obj, err := bpf.Open(path, opts)
		if err != nil {
			b.Fatal(err)
		}
		if err := obj.Load(context.Background()); err != nil {
			obj.Close()
			b.Fatal(err)
		}
		for _, p := range obj.Programs() {
			if p.FD() >= 0 {
				programs++
			}
			restarts += p.Restarts()
		}
		if err := obj.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(programs)/float64(b.N), "progs/op")
	b.ReportMetric(float64(restarts)/float64(b.N), "restarts/op")
}

// benchCilium is benchRawload for cilium/ebpf: LoadCollectionSpec,
// NewCollection, Close. cilium/ebpf retries interrupted verifications
// without telling, so there is no restart count.
func benchCilium(b *testing.B, path string) {
	var programs int
	for b.Loop() {
		spec, err := ebpf.LoadCollectionSpec(path)
		if err != nil {
			b.Fatal(err)
		}
		coll, err := ebpf.NewCollection(spec)
		if err != nil {
			b.Fatal(err)
		}
		programs += len(coll.Programs)
		coll.Close()
	}
	b.ReportMetric(float64(programs)/float64(b.N), "progs/op")
}

// trivialObject is the object BenchmarkLoadTrivial loads, chosen once.
func trivialObject(b *testing.B) string {
	b.Helper()
	path, note := trivialObjectOnce()
	if note != "" {
		b.Log(note)
	}
	return path
}

var trivialObjectOnce = sync.OnceValues(func() (path, note string) {
	const fallback = "../testdata/many.o"
	dir, err := ciliumDir()
	if err != nil {
		return fallback, fmt.Sprintf("locating cilium/ebpf: %v; loading %s instead", err, fallback)
	}
	path = filepath.Join(dir, "testdata", "manyprogs-el.elf")
	obj, err := bpf.Open(path, nil)
	if err == nil {
		err = obj.Load(context.Background())
		obj.Close()
	}
	if err != nil {
		return fallback, fmt.Sprintf("rawload cannot load manyprogs-el.elf (%v); loading %s instead", err, fallback)
	}
	return path, ""
})

// BenchmarkTools is the in-process half of cmd/compare as Go benchmarks:
// each tool_*.o opened, wholly loaded and closed per iteration by rawload
// and by cilium/ebpf (libbpf's side is libbpf/loader.c's -n loop).
func BenchmarkTools(b *testing.B) {
	requireKernel(b)
	for _, obj := range toolObjects(b) {
		b.Run(filepath.Base(obj), func(b *testing.B) {
			b.Run("rawload", func(b *testing.B) { benchTool(b, func() (int, error) { return LoadRawload(obj, nil, nil) }) })
			b.Run("cilium", func(b *testing.B) { benchTool(b, func() (int, error) { return LoadCilium(obj, nil) }) })
		})
	}
}

func benchTool(b *testing.B, load func() (int, error)) {
	// The first load of a process parses the kernel's BTF (both cache
	// it): leave it out, as cmd/compare does.
	if _, err := load(); err != nil {
		b.Fatal(err)
	}
	programs := 0
	for b.Loop() {
		n, err := load()
		if err != nil {
			b.Fatal(err)
		}
		programs += n
	}
	b.ReportMetric(float64(programs)/float64(b.N), "progs/op")
}
