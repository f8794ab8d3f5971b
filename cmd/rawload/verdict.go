package main

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/rawload/rawload/bpf"
)

// verdict is what load and verify report for one program. Its JSON form
// is the record of `verify --json`.
type verdict struct {
	Object        string `json:"object"`
	Program       string `json:"program"`
	Section       string `json:"section"`
	Type          string `json:"type"`
	Loaded        bool   `json:"loaded"`
	Error         string `json:"error"`
	Insns         int    `json:"insns"`
	VerifiedInsns uint32 `json:"verified_insns"`
	LoadNS        int64  `json:"load_ns"`

	err error
	log string
}

func (v *verdict) fail(err error) {
	v.err = err
	v.Error = errorSummary(err)
}

func (v *verdict) loadTime() time.Duration { return time.Duration(v.LoadNS) }

func (v *verdict) verdictName() string {
	if v.Loaded {
		return "success"
	}
	return "failure"
}

// prepareDynamic makes the selected programs Dynamic and the others
// Disabled, then runs Object.Load, which so loads nothing: each program
// is then loaded on its own and gets its own verdict, where Object.Load
// would roll every program back at the first failure.
func prepareDynamic(ctx context.Context, obj *bpf.Object, selected []*bpf.Program) error {
	for _, p := range obj.Programs() {
		t := bpf.LoadDisabled
		if slices.Contains(selected, p) {
			t = bpf.LoadDynamic
		}
		if err := p.SetLoadType(t); err != nil {
			return err
		}
	}
	return obj.Load(ctx)
}

// loadEach loads every program from a pool of workers, largest first so
// that one big program does not become the tail, and returns the
// verdicts in the order of progs. A failure never stops the others.
func loadEach(ctx context.Context, progs []*bpf.Program, workers int) []verdict {
	verdicts := make([]verdict, len(progs))
	order := make([]int, len(progs))
	for i, p := range progs {
		order[i] = i
		verdicts[i] = verdict{
			Program: p.Name(),
			Section: p.Section(),
			Type:    progTypeName(p.Kind().Type),
			Insns:   len(p.Instructions()) / 8,
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(verdicts[b].Insns, verdicts[a].Insns) })

	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(progs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				loadOne(progs[i], &verdicts[i])
			}
		}()
	}
	for n, i := range order {
		if ctx.Err() != nil {
			for _, j := range order[n:] {
				verdicts[j].fail(fmt.Errorf("program %s: not loaded: %w", progs[j].Name(), ctx.Err()))
			}
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return verdicts
}

func loadOne(p *bpf.Program, v *verdict) {
	if err := p.Err(); err != nil {
		v.fail(err)
		return
	}
	start := time.Now()
	err := p.Load()
	v.LoadNS = time.Since(start).Nanoseconds()
	v.log = p.VerifierLog()
	if err != nil {
		v.fail(err)
		v.VerifiedInsns = processedInsns(v.log)
		return
	}
	v.Loaded = true
	if n, err := p.VerifiedInsns(); err == nil {
		v.VerifiedInsns = n
	} else {
		v.VerifiedInsns = processedInsns(v.log)
	}
}

// exitStatus is exitFailure when any program failed to load.
func exitStatus(verdicts []verdict) int {
	for _, v := range verdicts {
		if !v.Loaded {
			return exitFailure
		}
	}
	return exitOK
}
