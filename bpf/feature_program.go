package bpf

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// setProgram is a program of a FeatureSet: how many features hold it,
// and the links the set made for it.
type setProgram struct {
	p     *Program
	index int // in FeatureSet.progs
	// mu serialises bringing the program up and down: held through its
	// load and attach, which no other program waits for.
	mu sync.Mutex

	// users is guarded by the set's mu: the features, enabled or being
	// enabled, that hold the program.
	users int
	// Written under mu and the set's mu; read under either.
	running  bool
	links    []*Link
	loadTime time.Duration
	loadedAt time.Time
}

// acquire counts one more use of sp and brings it up (loaded, its maps
// created in tx, attached) unless it runs already. On failure the use is
// dropped again and nothing of sp is left loaded.
func (s *FeatureSet) acquire(sp *setProgram, tx *loadTx) error {
	s.mu.Lock()
	sp.users++
	s.mu.Unlock()
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.running {
		return nil
	}
	err := s.bringUp(sp, tx)
	if err != nil {
		s.mu.Lock()
		sp.users--
		s.mu.Unlock()
	}
	return err
}

// bringUp loads and attaches sp. sp.mu is held.
func (s *FeatureSet) bringUp(sp *setProgram, tx *loadTx) error {
	p := sp.p
	start := time.Now()
	if err := p.load(tx); err != nil {
		return asVerifierError(p, err)
	}
	took := time.Since(start)
	s.mu.Lock()
	// A predecessor's link runs the hook until Resume switches it here.
	keepsHook := s.resume[sp]
	s.mu.Unlock()
	var links []*Link
	if !keepsHook {
		var err error
		if links, err = s.attach(p); err != nil {
			p.Unload()
			return err
		}
	}
	s.mu.Lock()
	sp.running, sp.links, sp.loadTime, sp.loadedAt = true, links, took, time.Now()
	s.mu.Unlock()
	return nil
}

// attach attaches p as the set's options say.
func (s *FeatureSet) attach(p *Program) ([]*Link, error) {
	opts, attach := AttachOptions{}, true
	if s.opts.Attach != nil {
		opts, attach = s.opts.Attach(p)
	}
	if !attach {
		return nil, nil
	}
	l, err := p.AttachWith(opts)
	if err != nil {
		return nil, err
	}
	return []*Link{l}, nil
}

// release drops one use of sp and, when that was the last, detaches
// and unloads it.
func (s *FeatureSet) release(sp *setProgram) error {
	s.mu.Lock()
	sp.users--
	last := sp.users == 0
	s.mu.Unlock()
	if !last {
		return nil
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	s.mu.Lock()
	// A use taken since waits for sp.mu and finds sp running.
	idle := sp.users == 0 && sp.running
	s.mu.Unlock()
	if !idle {
		return nil
	}
	return s.tearDown(sp)
}

// tearDown closes sp's links and unloads it. sp.mu is held.
func (s *FeatureSet) tearDown(sp *setProgram) error {
	var errs []error
	for _, l := range sp.links {
		if err := l.Close(); err != nil {
			errs = append(errs, fmt.Errorf("program %s: detaching %s %s: %w", sp.p.Name(), l.Kind, l.Target, err))
		}
	}
	if err := sp.p.Unload(); err != nil {
		errs = append(errs, err)
	}
	s.mu.Lock()
	sp.running, sp.links = false, nil
	s.mu.Unlock()
	return errors.Join(errs...)
}
