package bpf

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"sync"
)

// ErrUnknownFeature is returned for a feature name a FeatureSet does not
// define.
var ErrUnknownFeature = errors.New("no such feature")

// ErrNotRunning is returned by FeatureSet.Reload for a program no
// enabled feature runs.
var ErrNotRunning = errors.New("program is not running in an enabled feature")

// Feature is a named set of programs, switched on and off as one by a
// FeatureSet.
type Feature struct {
	Name    string
	Members []Member
}

// Member is one part of a feature. With one pattern, every program whose
// name matches it (path.Match: a name, or a glob such as "trace_*") is
// loaded and attached. With more, the patterns are alternatives in order
// of preference: the first whose programs all load and attach is used,
// and the rest are never loaded (an fexit program first, a raw tracepoint
// for kernels that refuse trampolines).
type Member []string

// FeatureSetOptions tune a FeatureSet. The zero value is usable.
type FeatureSetOptions struct {
	// Parallelism is the number of programs an Enable loads at once; 0
	// means GOMAXPROCS.
	Parallelism int
	// Attach gives the options a program attaches with, and whether it is
	// attached at all (false for one that only needs to be loaded, such
	// as a tail call target). nil attaches every program with the zero
	// AttachOptions.
	Attach func(p *Program) (opts AttachOptions, attach bool)
}

// FeatureSet switches features of one or more Objects on and off at run
// time. Enabling loads, in parallel and largest first, and attaches every
// program of the features that is not running yet; disabling detaches
// and unloads the programs no enabled feature still needs. Maps are
// created with their first loaded user and, with the Objects'
// Options.ReleaseUnusedMaps, destroyed with their last (pinned maps never
// are).
//
// Enable and Disable of different features run concurrently and never
// wait for each other's verification: each feature, and each program,
// has a lock of its own, and the set's lock is never held across a
// bpf(2) call.
//
// The FeatureSet does not own the Objects: Close detaches and unloads
// what it runs, and the caller closes the Objects after it.
type FeatureSet struct {
	opts     FeatureSetOptions
	objs     []*Object
	features []*feature // in definition order
	byName   map[string]*feature
	progs    []*setProgram // the Objects' programs, in Object and file order
	byProg   map[*Program]*setProgram

	// mu guards the fields documented as guarded by the set; it is
	// never held across a bpf(2) call.
	mu     sync.Mutex
	closed bool
	// resume says, during Resume, which programs a predecessor's link
	// keeps attached until it is updated to the new instance.
	resume map[*setProgram]bool
}

// feature is a Feature of a set.
type feature struct {
	name    string
	members []member
	// op is held through an Enable or Disable of this feature: the same
	// feature is switched by one caller at a time.
	op sync.Mutex

	// Written under op and the set's mu; read under either.
	enabled bool
	chosen  []choice // one per member, while enabled
	lastErr error    // why the last Enable failed, nil after one succeeded
}

// member is a Member with its patterns resolved to programs.
type member struct {
	patterns []string
	alts     [][]*setProgram // the programs of each alternative
}

// choice is the alternative an Enable used for a member, and why each
// earlier one was skipped.
type choice struct {
	alt     int
	progs   []*setProgram
	skipped []SkippedAlternative
}

// SkippedAlternative is an alternative an Enable tried before the one it
// used, and why it did not load or attach.
type SkippedAlternative struct {
	Pattern string
	Err     error
}

// NewFeatureSet defines features over objs. Each pattern must match at
// least one program of objs. An Object whose Object.Load has not run is
// prepared for the set: its Auto programs, and the Disabled ones a
// feature names, become Dynamic, and Object.Load runs, loading nothing;
// the set then loads them as features need them. An Object already
// loaded is used as it is: its Disabled programs stay disabled.
func NewFeatureSet(objs []*Object, features []Feature, opts *FeatureSetOptions) (*FeatureSet, error) {
	s := &FeatureSet{objs: slices.Clone(objs), byName: make(map[string]*feature), byProg: make(map[*Program]*setProgram)}
	if opts != nil {
		s.opts = *opts
	}
	for _, o := range objs {
		for _, p := range o.Programs() {
			sp := &setProgram{p: p, index: len(s.progs)}
			s.progs = append(s.progs, sp)
			s.byProg[p] = sp
		}
	}
	named := make(map[*setProgram]bool)
	for _, def := range features {
		if def.Name == "" {
			return nil, errors.New("feature with no name")
		}
		if _, dup := s.byName[def.Name]; dup {
			return nil, fmt.Errorf("feature %s: defined twice", def.Name)
		}
		if len(def.Members) == 0 {
			return nil, fmt.Errorf("feature %s: no programs", def.Name)
		}
		f := &feature{name: def.Name}
		for _, m := range def.Members {
			if len(m) == 0 {
				return nil, fmt.Errorf("feature %s: empty member", def.Name)
			}
			rm := member{patterns: slices.Clone(m)}
			for _, pattern := range m {
				progs, err := s.match(pattern)
				if err != nil {
					return nil, fmt.Errorf("feature %s: %w", def.Name, err)
				}
				for _, sp := range progs {
					named[sp] = true
				}
				rm.alts = append(rm.alts, progs)
			}
			f.members = append(f.members, rm)
		}
		s.features = append(s.features, f)
		s.byName[f.name] = f
	}
	for _, o := range objs {
		if err := s.prepare(o, named); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// match returns the programs whose name matches pattern.
func (s *FeatureSet) match(pattern string) ([]*setProgram, error) {
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, fmt.Errorf("pattern %q: %w", pattern, err)
	}
	var progs []*setProgram
	for _, sp := range s.progs {
		if ok, _ := path.Match(pattern, sp.p.Name()); ok {
			progs = append(progs, sp)
		}
	}
	if len(progs) == 0 {
		return nil, fmt.Errorf("pattern %q matches no program", pattern)
	}
	return progs, nil
}

// prepare makes an Object whose Object.Load has not run load nothing by
// itself: the set loads its programs.
func (s *FeatureSet) prepare(o *Object, named map[*setProgram]bool) error {
	o.mu.Lock()
	loaded, closed := o.loaded, o.closed
	o.mu.Unlock()
	switch {
	case closed:
		return fmt.Errorf("feature set: object %s: %w", o.Name(), ErrClosed)
	case loaded:
		return nil
	}
	for _, p := range o.programs {
		if p.LoadType() == LoadAuto || named[s.byProg[p]] {
			if err := p.SetLoadType(LoadDynamic); err != nil {
				return fmt.Errorf("feature set: %w", err)
			}
		}
	}
	if err := o.Load(context.Background()); err != nil {
		return fmt.Errorf("feature set: object %s: %w", o.Name(), err)
	}
	return nil
}

// ProgramFeatures defines one feature per program name of objs, named
// after it: what `rawload serve` does without a features file.
func ProgramFeatures(objs []*Object) []Feature {
	var features []Feature
	seen := make(map[string]bool)
	for _, o := range objs {
		for _, p := range o.Programs() {
			if !seen[p.Name()] {
				seen[p.Name()] = true
				features = append(features, Feature{Name: p.Name(), Members: []Member{{p.Name()}}})
			}
		}
	}
	return features
}

// Objects returns the Objects of the set.
func (s *FeatureSet) Objects() []*Object { return slices.Clone(s.objs) }

// Features returns the names of the features, in definition order.
func (s *FeatureSet) Features() []string {
	names := make([]string, len(s.features))
	for i, f := range s.features {
		names[i] = f.name
	}
	return names
}

// Enabled reports whether the feature is enabled.
func (s *FeatureSet) Enabled(name string) bool {
	f := s.byName[name]
	if f == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return f.enabled
}

// lock looks the features up and takes their op locks, in name order so
// that two calls naming the same features never wait for each other in
// a cycle. It refuses unknown names before taking any lock.
func (s *FeatureSet) lock(names []string) ([]*feature, error) {
	var feats []*feature
	var errs []error
	for _, name := range names {
		f := s.byName[name]
		if f == nil {
			errs = append(errs, fmt.Errorf("feature %s: %w", name, ErrUnknownFeature))
			continue
		}
		if !slices.Contains(feats, f) {
			feats = append(feats, f)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.SortFunc(feats, func(a, b *feature) int { return cmp.Compare(a.name, b.name) })
	for _, f := range feats {
		f.op.Lock()
	}
	return feats, nil
}

func unlock(feats []*feature) {
	for _, f := range slices.Backward(feats) {
		f.op.Unlock()
	}
}

// Enable loads and attaches every program of the named features that is
// not running yet. It is all or nothing: if a program fails (every
// alternative of a member, for a member with alternatives), what this
// call loaded, attached and created is undone, the features stay
// disabled, and every failure is returned, joined. Features already
// enabled, and other features, are left as they are.
func (s *FeatureSet) Enable(ctx context.Context, names ...string) error {
	feats, err := s.lock(names)
	if err != nil {
		return err
	}
	defer unlock(feats)
	return s.enableLocked(ctx, feats)
}

// enableLocked enables feats, whose op locks are held.
func (s *FeatureSet) enableLocked(ctx context.Context, feats []*feature) error {
	s.mu.Lock()
	closed := s.closed
	var todo []*feature
	for _, f := range feats {
		if !f.enabled {
			todo = append(todo, f)
		}
	}
	s.mu.Unlock()
	if closed {
		return fmt.Errorf("feature set: enable: %w", ErrClosed)
	}
	if len(todo) == 0 {
		return nil
	}

	e := s.newEnable(todo)
	errs := e.run(ctx)
	if len(errs) > 0 {
		e.undo()
		err := errors.Join(errs...)
		s.mu.Lock()
		for _, f := range todo {
			f.lastErr = err
		}
		s.mu.Unlock()
		return err
	}
	e.releaseUnusedMaps()
	s.mu.Lock()
	for _, f := range todo {
		f.enabled, f.chosen, f.lastErr = true, e.chosen(f), nil
	}
	s.mu.Unlock()
	return nil
}

// Disable detaches and unloads the programs of the named features that
// no other enabled feature needs. Features not enabled are left alone.
// A failure to detach or unload is returned; the features are disabled
// all the same.
func (s *FeatureSet) Disable(names ...string) error {
	feats, err := s.lock(names)
	if err != nil {
		return err
	}
	defer unlock(feats)
	return s.disableLocked(feats)
}

// disableLocked disables feats, whose op locks are held.
func (s *FeatureSet) disableLocked(feats []*feature) error {
	var errs []error
	for _, f := range feats {
		s.mu.Lock()
		chosen := f.chosen
		wasEnabled := f.enabled
		f.enabled, f.chosen = false, nil
		s.mu.Unlock()
		if !wasEnabled {
			continue
		}
		for _, c := range chosen {
			for _, sp := range c.progs {
				if err := s.release(sp); err != nil {
					errs = append(errs, fmt.Errorf("feature %s: %w", f.name, err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// Close disables every feature and refuses any Enable after it. It waits
// for Enables and Disables under way. The Objects stay open.
func (s *FeatureSet) Close() error {
	feats, _ := s.lock(s.Features())
	defer unlock(feats)
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return s.disableLocked(feats)
}
