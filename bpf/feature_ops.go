package bpf

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Reload reloads the running programs whose names match the patterns,
// gaplessly (Program.Reload): every hook keeps a program attached
// throughout. A pattern that matches no running program is an error;
// the others are reloaded all the same.
func (s *FeatureSet) Reload(patterns ...string) error {
	var errs []error
	var todo []*setProgram
	for _, pattern := range patterns {
		progs, err := s.match(pattern)
		if err != nil {
			errs = append(errs, fmt.Errorf("reload: %w", err))
			continue
		}
		for _, sp := range progs {
			if !slices.Contains(todo, sp) {
				todo = append(todo, sp)
			}
		}
	}
	for _, sp := range todo {
		if err := s.reload(sp); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *FeatureSet) reload(sp *setProgram) error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if !sp.running {
		return fmt.Errorf("program %s: reload: %w", sp.p.Name(), ErrNotRunning)
	}
	start := time.Now()
	if err := sp.p.Reload(); err != nil {
		return err
	}
	took := time.Since(start)
	s.mu.Lock()
	sp.loadTime, sp.loadedAt = took, time.Now()
	s.mu.Unlock()
	return nil
}

// Resize gives the map named name a new number of entries, at run time:
// the running programs that use it are detached and unloaded, the map is
// destroyed and created again with n entries, and they are loaded and
// attached again from the same instructions. The hooks are empty in
// between, and the map's contents are lost. On failure the map gets its
// old size back and the programs run again. Pinned maps are refused:
// their pin outlives the resize.
func (s *FeatureSet) Resize(name string, n uint32) error {
	m, err := s.findMap(name)
	if err != nil {
		return err
	}
	if m.pinPath() != "" {
		return fmt.Errorf("map %s: resize: the map is pinned", name)
	}
	var users []*setProgram
	for _, sp := range s.progs {
		if sp.p.obj == m.obj && slices.Contains(sp.p.usedMaps(), m) {
			users = append(users, sp)
		}
	}
	// Every program that could make the map live again waits, whether
	// it runs or not; s.progs order keeps two Resizes from deadlocking.
	for _, sp := range users {
		sp.mu.Lock()
	}
	defer func() {
		for _, sp := range slices.Backward(users) {
			sp.mu.Unlock()
		}
	}()
	var down []*setProgram
	for _, sp := range users {
		if sp.running {
			down = append(down, sp)
			if err := s.tearDown(sp); err != nil {
				return errors.Join(fmt.Errorf("map %s: resize: %w", name, err), s.bringUpAll(down))
			}
		}
	}
	old := m.maxEntries()
	if err := s.recreate(m, n, down); err != nil {
		err = fmt.Errorf("map %s: resize to %d entries: %w", name, n, err)
		// Back to the old size, with the programs running again.
		if rerr := s.recreate(m, old, down); rerr != nil {
			err = errors.Join(err, fmt.Errorf("map %s: restoring %d entries: %w", name, old, rerr))
		}
		return err
	}
	return nil
}

// recreate destroys m if live, sizes it to n entries and brings up the
// programs of down, which use it. On failure what it brought up is torn
// down again. The programs' locks are held.
func (s *FeatureSet) recreate(m *Map, n uint32, down []*setProgram) error {
	if m.Live() {
		if err := m.Destroy(); err != nil {
			return err
		}
	}
	if err := m.SetMaxEntries(n); err != nil {
		return err
	}
	return s.bringUpAll(down)
}

// bringUpAll brings up every program of progs, or none: on failure those
// it brought up are torn down and the maps it created destroyed. The
// programs' locks are held.
func (s *FeatureSet) bringUpAll(progs []*setProgram) error {
	txs := make(map[*Object]*loadTx)
	var up []*setProgram
	var err error
	for _, sp := range progs {
		tx := txs[sp.p.obj]
		if tx == nil {
			tx = newLoadTx()
			txs[sp.p.obj] = tx
		}
		if err = s.bringUp(sp, tx); err != nil {
			break
		}
		up = append(up, sp)
	}
	if err != nil {
		for _, sp := range up {
			s.tearDown(sp)
		}
	}
	for o, tx := range txs {
		tx.releaseUnused(o)
	}
	return err
}

// findMap returns the one map of that name among the set's Objects.
func (s *FeatureSet) findMap(name string) (*Map, error) {
	var found []*Map
	for _, o := range s.objs {
		if m := o.Map(name); m != nil {
			found = append(found, m)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("map %s: no such map", name)
	case 1:
		return found[0], nil
	}
	return nil, fmt.Errorf("map %s: in %d objects; resizing one would leave the others", name, len(found))
}
