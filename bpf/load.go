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

// loadTx records what one load call did, so that a failure undoes exactly
// that and nothing that was live before.
type loadTx struct {
	mu       sync.Mutex
	maps     []*Map
	programs []*Program
}

func newLoadTx() *loadTx { return &loadTx{} }

func (tx *loadTx) created(m *Map) {
	if tx == nil {
		return
	}
	tx.mu.Lock()
	defer tx.mu.Unlock()
	tx.maps = append(tx.maps, m)
}

func (tx *loadTx) loaded(p *Program) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	tx.programs = append(tx.programs, p)
}

// rollback unloads the programs tx loaded and destroys the maps it created
// that no loaded program uses.
func (tx *loadTx) rollback(o *Object) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	for _, p := range tx.programs {
		p.Unload()
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, m := range tx.maps {
		if m.users == 0 && !o.closed {
			m.destroyLocked()
		}
	}
	tx.maps, tx.programs = nil, nil
}

// Load loads every Auto program, creating the maps they use, with
// Options.Parallelism workers taking the largest programs first. It fixes
// the load types: Dynamic programs can be loaded from now on. If any
// program fails, everything this call loaded and created is undone and
// every failure is returned, joined; a verifier rejection is a
// *VerifierError.
func (o *Object) Load(ctx context.Context) error {
	o.mu.Lock()
	switch {
	case o.closed:
		o.mu.Unlock()
		return ErrClosed
	case o.loaded:
		o.mu.Unlock()
		return ErrAlreadyLoaded
	}
	o.loaded = true
	var queue []*Program
	for _, p := range o.programs {
		if p.loadType == LoadAuto {
			queue = append(queue, p)
		}
	}
	o.mu.Unlock()

	slices.SortStableFunc(queue, func(a, b *Program) int { return cmp.Compare(len(b.insns), len(a.insns)) })
	tx := newLoadTx()
	errs := o.loadAll(ctx, queue, tx)
	if len(errs) > 0 {
		tx.rollback(o)
		return errors.Join(errs...)
	}
	return nil
}

func (o *Object) loadAll(ctx context.Context, queue []*Program, tx *loadTx) []error {
	workers := o.opts.Parallelism
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(queue))
	next := make(chan *Program)
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range next {
				if err := p.load(tx); err != nil {
					mu.Lock()
					errs = append(errs, asVerifierError(p, err))
					mu.Unlock()
				}
			}
		}()
	}
	for _, p := range queue {
		if ctx.Err() == nil {
			select {
			case next <- p:
				continue
			case <-ctx.Done():
			}
		}
		mu.Lock()
		errs = append(errs, fmt.Errorf("object load: %w", ctx.Err()))
		mu.Unlock()
		break
	}
	close(next)
	wg.Wait()
	return errs
}
