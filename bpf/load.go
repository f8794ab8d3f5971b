package bpf

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// loadTx records what one load call did, so that a failure undoes exactly
// that and nothing that was live before.
type loadTx struct {
	mu       sync.Mutex
	maps     []createdMap
	programs []*Program
	// single is a transaction of one Program.Load: a failed load leaves
	// its program unloaded, so only the maps need undoing, and the
	// program is not recorded (a reload then allocates nothing).
	single bool
}

// createdMap is a map a load made live, and the pin it created for it, if
// any: undoing the load removes that pin too.
type createdMap struct {
	m   *Map
	pin string
}

func newLoadTx() *loadTx { return &loadTx{} }

// singleLoads are the transactions of Program.Load, reused so that a
// reload allocates nothing.
var singleLoads = sync.Pool{New: func() any { return &loadTx{single: true} }}

func (tx *loadTx) created(m *Map, pin string) {
	if tx == nil {
		return
	}
	tx.mu.Lock()
	defer tx.mu.Unlock()
	tx.maps = append(tx.maps, createdMap{m, pin})
}

func (tx *loadTx) loaded(p *Program) {
	if tx.single {
		return
	}
	tx.mu.Lock()
	defer tx.mu.Unlock()
	tx.programs = append(tx.programs, p)
}

// rollback unloads the programs tx loaded and destroys the maps it created
// that no loaded program uses.
func (tx *loadTx) rollback(o *Object) {
	tx.mu.Lock()
	programs := tx.programs
	tx.programs = nil
	tx.mu.Unlock()
	for _, p := range programs {
		p.Unload()
	}
	tx.releaseUnused(o)
}

// releaseUnused destroys the maps tx created that no loaded program
// uses, with the pins it made for them. It goes from the last created to
// the first: a map of maps is created after its inner maps and counts as
// their user, so destroying it first lets them go too.
func (tx *loadTx) releaseUnused(o *Object) {
	tx.mu.Lock()
	maps := tx.maps
	tx.maps = nil
	tx.mu.Unlock()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return
	}
	for _, c := range slices.Backward(maps) {
		if c.m.users > 0 {
			continue
		}
		if c.m.live.Load() {
			c.m.destroyLocked()
		}
		removePin(c.pin)
	}
}

// Load loads every Auto program, creating the maps they use, with
// Options.Parallelism workers taking the largest programs first. It fixes
// the load types: Dynamic programs can be loaded from now on. If any
// program fails, everything this call loaded and created is undone and
// every failure is returned, joined; a verifier rejection is a
// *VerifierError. A failed Load may be called again: it tries the Auto
// programs afresh, with the load types as they were.
func (o *Object) Load(ctx context.Context) error {
	queue, err := o.startLoad()
	if err != nil {
		return err
	}
	tx := newLoadTx()
	var errs []error
	for _, r := range o.loadAll(ctx, queue, tx) {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	if len(errs) > 0 {
		tx.rollback(o)
		o.mu.Lock()
		o.loadFailed = true
		o.mu.Unlock()
		return errors.Join(errs...)
	}
	return nil
}

// LoadResult is what loading one program did.
type LoadResult struct {
	Program *Program
	// Err is nil for a loaded program; otherwise a *VerifierError, or
	// the context's error for a program never attempted.
	Err error
	// Duration is the wall time of the program's load, maps it created
	// included.
	Duration time.Duration
	// VerifiedInsns is the number of instructions the verifier processed:
	// from the kernel's program info when loaded, from the log when the
	// verifier rejected the program.
	VerifiedInsns uint32
}

// LoadEach is Object.Load without all-or-nothing, for tools that want a
// verdict per program: every Auto program is attempted, a failure never
// stops the others, and the programs that loaded stay loaded. Maps this
// call created that no loaded program uses are destroyed again. The
// results are in file order; the error is only for the Object itself
// (closed, or already loaded).
func (o *Object) LoadEach(ctx context.Context) ([]LoadResult, error) {
	queue, err := o.startLoad()
	if err != nil {
		return nil, err
	}
	tx := newLoadTx()
	results := o.loadAll(ctx, queue, tx)
	tx.releaseUnused(o)
	sort.Slice(results, func(i, j int) bool { return results[i].Program.index < results[j].Program.index })
	for i := range results {
		results[i].VerifiedInsns = results[i].Program.verifiedInsns(results[i].Err)
	}
	return results, nil
}

// startLoad fixes the load types and returns the Auto programs, largest
// first, so that one big program does not become the tail.
func (o *Object) startLoad() ([]*Program, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case o.closed:
		return nil, fmt.Errorf("object load: %w", ErrClosed)
	case o.loaded && !o.loadFailed:
		return nil, ErrAlreadyLoaded
	}
	o.loaded, o.loadFailed = true, false
	var queue []*Program
	for _, p := range o.programs {
		if p.loadType == LoadAuto {
			queue = append(queue, p)
		}
	}
	slices.SortStableFunc(queue, func(a, b *Program) int { return cmp.Compare(len(b.insns), len(a.insns)) })
	return queue, nil
}

// lightLoad reports whether a load is too small to gain from a second
// worker by default: a few small programs verify in tens of microseconds
// each, less than handing one to a goroutine on another CPU costs. Over
// 1,000 loads here, cilium/ebpf's tcx example (two programs) took 98-126
// µs serially and 144-155 µs with two workers; bcc's syncsnoop (eight
// programs of 25 instructions) gained from two, 391-402 against 442-458.
func lightLoad(queue []*Program) bool {
	if len(queue) >= 4 {
		return false
	}
	insns := 0
	for _, p := range queue {
		insns += len(p.insns) / 8
	}
	return insns < 2048
}

// loadAll loads queue from a pool of workers and returns a result per
// program, in queue order. Once ctx is done no further program starts;
// those left get ctx's error.
func (o *Object) loadAll(ctx context.Context, queue []*Program, tx *loadTx) []LoadResult {
	results := make([]LoadResult, len(queue))
	for i, p := range queue {
		results[i].Program = p
	}
	workers := o.opts.Parallelism
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
		if lightLoad(queue) {
			workers = 1
		}
	}
	workers = min(workers, len(queue))
	// Workers take the next program from a shared counter, largest
	// first; the calling goroutine is one of them, so one worker hands
	// nothing to another goroutine and two hand over once.
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1) - 1)
			if i >= len(queue) {
				return
			}
			r := &results[i]
			if err := ctx.Err(); err != nil {
				r.Err = fmt.Errorf("program %s: not loaded: %w", r.Program.Name(), err)
				continue
			}
			start := time.Now()
			if err := r.Program.load(tx); err != nil {
				r.Err = asVerifierError(r.Program, err)
			}
			r.Duration = time.Since(start)
		}
	}
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
	return results
}
