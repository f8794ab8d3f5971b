package bpf

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/reloc"
)

// createUnlocked makes a plain map live with its MAP_CREATE outside the
// Object's lock, so that getters and the loads of other programs do not
// wait behind a big map (a preallocated hash of millions of entries takes
// the kernel a good part of a second). Only maps whose creation needs
// nothing but their definition go this way: not global data or kconfig
// (contents written under m.state), not pinned (the pin decides between
// adopting and creating), not struct_ops, and without initial values
// (other maps and programs go in). Anything else, and any change seen
// when the new map is about to be installed (the Object closed, the map
// made live by another path, its definition changed by a Set* call),
// leaves the decision to createLocked under the lock, which the caller
// always goes on to: this is only a head start.
//
// m.creating makes concurrent loads of programs sharing the map create it
// once. Lock order: p.lifecycle, m.creating, obj.mu, m.state. obj.mu is
// not held.
//
// With forUser, the map is installed with its first user counted in the
// same critical section (counted reports it), so that a map made live by
// a program's load is never seen live without users: the program's load
// then counts it no more.
func (m *Map) createUnlocked(tx *loadTx, forUser bool) (counted bool, err error) {
	m.creating.Lock()
	defer m.creating.Unlock()
	o := m.obj

	o.mu.Lock()
	if o.closed || m.live.Load() {
		o.mu.Unlock()
		return false, nil
	}
	spec := *m.spec
	generation := m.specGeneration
	plain := createsUnlocked(m)
	o.mu.Unlock()

	if spec.BTFKey != 0 || spec.BTFValue != 0 {
		// The object's BTF_LOAD too stays outside the lock, for every
		// kind of map; a failure shows again where the map is created.
		o.btf.get(o.spec.BTF)
	}
	if !plain {
		return false, nil
	}
	attr := createAttr(&spec)
	start := time.Now()
	fd, err := o.createMap(&spec, &attr)
	took := time.Since(start)

	o.mu.Lock()
	defer o.mu.Unlock()
	o.stats.MapCreate += took
	if err != nil {
		if o.closed || m.live.Load() || m.specGeneration != generation {
			return false, nil // no longer this call's failure: createLocked decides
		}
		return false, err
	}
	o.stats.MapsCreated++
	if o.closed || m.live.Load() || m.specGeneration != generation {
		unix.Close(fd)
		return false, nil
	}
	if err := m.install(fd); err != nil {
		return false, err
	}
	m.external = false
	tx.created(m, "")
	if forUser {
		m.users++
	}
	return forUser, nil
}

// createsUnlocked reports whether m's creation needs nothing but its
// definition (see createUnlocked). obj.mu is held.
func createsUnlocked(m *Map) bool {
	s := m.spec
	switch {
	case s.Source != reloc.MapBTF && s.Source != reloc.MapLegacy,
		s.Type == uapi.MapTypeStructOps,
		len(s.Values) > 0,
		m.pinPath() != "",
		m.Err() != nil,
		checkSize(s) != nil:
		return false
	}
	return true
}

// createMapsUnlocked gives the maps p uses that are not live their head
// start outside the Object's lock, and returns those it made live with
// p counted as their user (nil if none: a reload allocates nothing). On
// an error p is no user of any. obj.mu is not held.
func (p *Program) createMapsUnlocked(tx *loadTx) ([]*Map, error) {
	var counted []*Map
	// p.maps and p.bound apart: usedMaps would allocate.
	for _, maps := range [2][]*Map{p.maps, p.bound} {
		for _, m := range maps {
			if m.live.Load() {
				continue
			}
			ok, err := m.createUnlocked(tx, true)
			if err != nil {
				p.obj.mu.Lock()
				for _, c := range counted {
					c.users--
				}
				p.obj.mu.Unlock()
				return nil, err
			}
			if ok {
				counted = append(counted, m)
			}
		}
	}
	return counted, nil
}
