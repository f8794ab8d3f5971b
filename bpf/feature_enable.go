package bpf

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
)

// enabling is one Enable call: its jobs, and the maps it created, per
// Object, so that a failure undoes exactly what the call did.
type enabling struct {
	s     *FeatureSet
	feats []*feature
	jobs  []*job
	txs   map[*Object]*loadTx
}

// job brings up one member of a feature: one program of a plain member
// (a glob is one job per program, so that they load in parallel), or
// the alternatives of a member that has them, tried in order.
type job struct {
	f        *feature
	member   int
	patterns []string
	alts     [][]*setProgram
	size     int // instructions of the first alternative: the queue's order

	// The outcome.
	alt      int           // the alternative used
	acquired []*setProgram // programs this job holds a use of
	skipped  []SkippedAlternative
	err      error
}

func (s *FeatureSet) newEnable(feats []*feature) *enabling {
	e := &enabling{s: s, feats: feats, txs: make(map[*Object]*loadTx)}
	for _, o := range s.objs {
		e.txs[o] = newLoadTx()
	}
	for _, f := range feats {
		for mi, m := range f.members {
			if len(m.alts) == 1 {
				for _, sp := range m.alts[0] {
					e.jobs = append(e.jobs, &job{f: f, member: mi, patterns: m.patterns, alts: [][]*setProgram{{sp}}})
				}
				continue
			}
			e.jobs = append(e.jobs, &job{f: f, member: mi, patterns: m.patterns, alts: m.alts})
		}
	}
	for _, j := range e.jobs {
		for _, sp := range j.alts[0] {
			j.size += len(sp.p.insns)
		}
	}
	slices.SortStableFunc(e.jobs, func(a, b *job) int { return cmp.Compare(b.size, a.size) })
	return e
}

// run does the jobs from a pool of workers, largest first, and returns
// their failures. After the first failure no further job starts: the
// call is undone anyway.
func (e *enabling) run(parent context.Context) []error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	workers := e.s.opts.Parallelism
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(e.jobs))
	next := make(chan *job)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				e.do(ctx, j)
				if j.err != nil {
					cancel()
				}
			}
		}()
	}
	for _, j := range e.jobs {
		select {
		case next <- j:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	var errs []error
	for _, j := range e.jobs {
		switch {
		case j.err != nil && parent.Err() == nil && errors.Is(j.err, context.Canceled):
			// Stopped by another job's failure, which is reported.
		case j.err != nil:
			errs = append(errs, j.err)
		case j.acquired == nil && ctx.Err() != nil:
			// Never started.
			if parent.Err() != nil {
				errs = append(errs, fmt.Errorf("feature %s: %s: not loaded: %w", j.f.name, j.patterns[0], parent.Err()))
			}
		}
	}
	if len(errs) == 0 && parent.Err() != nil {
		errs = append(errs, parent.Err())
	}
	return errs
}

// do tries the job's alternatives in order until one has all its
// programs running.
func (e *enabling) do(ctx context.Context, j *job) {
	for ai, alt := range j.alts {
		var got []*setProgram
		var err error
		for _, sp := range alt {
			if err = ctx.Err(); err != nil {
				err = fmt.Errorf("program %s: not loaded: %w", sp.p.Name(), err)
				break
			}
			if err = e.s.acquire(sp, e.txs[sp.p.obj]); err != nil {
				break
			}
			got = append(got, sp)
		}
		if err == nil {
			j.alt, j.acquired = ai, got
			return
		}
		for _, sp := range got {
			e.s.release(sp)
		}
		if len(j.alts) == 1 || ctx.Err() != nil {
			j.err = fmt.Errorf("feature %s: %w", j.f.name, err)
			return
		}
		j.skipped = append(j.skipped, SkippedAlternative{Pattern: j.patterns[ai], Err: err})
	}
	errs := make([]error, len(j.skipped))
	for i, sk := range j.skipped {
		errs[i] = fmt.Errorf("%s: %w", sk.Pattern, sk.Err)
	}
	j.err = fmt.Errorf("feature %s: no alternative of %q loaded and attached: %w", j.f.name, j.patterns, errors.Join(errs...))
}

// chosen is what the jobs used for each member of f.
func (e *enabling) chosen(f *feature) []choice {
	chosen := make([]choice, len(f.members))
	for mi, m := range f.members {
		if len(m.alts) == 1 {
			chosen[mi] = choice{alt: 0, progs: m.alts[0]}
		}
	}
	for _, j := range e.jobs {
		if j.f == f && len(j.alts) > 1 {
			chosen[j.member] = choice{alt: j.alt, progs: j.acquired, skipped: j.skipped}
		}
	}
	return chosen
}

// undo releases every program the call acquired and destroys the maps
// it created that nothing uses.
func (e *enabling) undo() {
	for _, j := range e.jobs {
		for _, sp := range j.acquired {
			e.s.release(sp)
		}
		j.acquired = nil
	}
	e.releaseUnusedMaps()
}

// releaseUnusedMaps destroys the maps this call created that no loaded
// program uses: those of alternatives that failed, or of a call undone.
func (e *enabling) releaseUnusedMaps() {
	for o, tx := range e.txs {
		tx.releaseUnused(o)
	}
}
