package bpf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/reloc"
	"github.com/rawload/rawload/syscall"
)

// ErrHandoverPending is returned by Handover for a directory that holds
// a handover nobody has resumed yet.
var ErrHandoverPending = errors.New("a handover is pinned there already")

// A handover directory, on a bpffs:
//
//	features/NAME                   an empty directory per enabled feature
//	objects/OBJECT/maps/MAP         the maps the programs write
//	objects/OBJECT/links/PROGRAM/N  the links of the running programs
//
// with each name written by pinElem.
const (
	handoverFeatures = "features"
	handoverObjects  = "objects"
)

// HandoverReport says what a Resume took over.
type HandoverReport struct {
	// Features are the features enabled again.
	Features []string
	// Maps are the maps adopted, as OBJECT/MAP; their contents carry on.
	Maps []string
	// Updated are links switched to this process's program in place
	// (BPF_LINK_UPDATE), as OBJECT/PROGRAM.N; Replaced, links whose hook
	// cannot be updated, closed once the new program was attached to
	// the same hook.
	Updated, Replaced []string
	// Dropped are what this version has no use for: features, maps and
	// links of programs it does not define, and maps that no longer
	// match their definition. Their pins are removed.
	Dropped []string
}

// Handover leaves what the set runs running after this process exits,
// for a successor to take over with Resume: under dir, on a bpffs, it
// pins every link of every running program and every live map but the
// read-only ones (.rodata, .kconfig) and those pinned already, and
// records the enabled features. Then it closes the set without
// detaching anything: the pins hold the links and maps.
//
// Every running program must be attached through BPF links (a socket
// filter, say, is not one and would be detached). On any failure what
// Handover pinned is removed and the set runs on as before.
func (s *FeatureSet) Handover(dir string) error {
	feats, _ := s.lock(s.Features())
	defer unlock(feats)
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return fmt.Errorf("feature set: handover: %w", ErrClosed)
	}
	if err := s.handover(dir, feats); err != nil {
		return fmt.Errorf("feature set: handover to %s: %w", dir, err)
	}
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return s.disableLocked(feats)
}

// handover pins what the set runs under dir, or nothing.
func (s *FeatureSet) handover(dir string, feats []*feature) (err error) {
	if err := checkPinDir(dir); err != nil {
		return err
	}
	if _, err := os.Lstat(filepath.Join(dir, handoverFeatures)); err == nil {
		return ErrHandoverPending
	}
	objNames := make(map[*Object]string)
	for _, o := range s.objs {
		for _, other := range objNames {
			if other == o.Name() {
				return fmt.Errorf("two objects are named %s", o.Name())
			}
		}
		objNames[o] = pinElem(o.Name())
	}
	var enabled []string
	s.mu.Lock()
	for _, f := range feats {
		if f.enabled {
			enabled = append(enabled, f.name)
		}
	}
	running := make(map[*setProgram][]*Link)
	for _, sp := range s.progs {
		if sp.running {
			running[sp] = slices.Clone(sp.links)
		}
	}
	s.mu.Unlock()
	for sp, links := range running {
		for _, l := range links {
			if l.FD() < 0 {
				return fmt.Errorf("program %s: its %s attachment on %s is not a BPF link and cannot be pinned", sp.p.Name(), l.Kind, l.Target)
			}
		}
	}

	// Features last: their presence says the handover is complete.
	defer func() {
		if err != nil {
			removeHandover(dir)
		}
	}()
	for sp, links := range running {
		progDir := filepath.Join(dir, handoverObjects, objNames[sp.p.obj], "links", pinElem(sp.p.Name()))
		if err := os.MkdirAll(progDir, 0o700); err != nil {
			return err
		}
		for i, l := range links {
			if err := l.Pin(filepath.Join(progDir, strconv.Itoa(i))); err != nil {
				return fmt.Errorf("program %s: %w", sp.p.Name(), err)
			}
		}
	}
	for _, o := range s.objs {
		if err := handoverMaps(o, filepath.Join(dir, handoverObjects, objNames[o], "maps")); err != nil {
			return err
		}
	}
	for _, name := range enabled {
		if err := os.MkdirAll(filepath.Join(dir, handoverFeatures, pinElem(name)), 0o700); err != nil {
			return err
		}
	}
	return os.MkdirAll(filepath.Join(dir, handoverFeatures), 0o700)
}

// handoverMaps pins o's live maps under dir but those pinned already and
// those handoverKeepsOut. Unlike Map.Pin it leaves the maps the
// Object's: ReleaseUnusedMaps still destroys them (their pins stay).
func handoverMaps(o *Object, dir string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, m := range o.maps {
		if !m.Live() || m.pinPath() != "" || handoverKeepsOut(m.spec) {
			continue
		}
		if err := pinMap(m.slot, filepath.Join(dir, pinElem(m.Name()))); err != nil {
			return fmt.Errorf("map %s: %w", m.Name(), err)
		}
	}
	return nil
}

// handoverKeepsOut is true for maps a successor must create itself: its
// constants, which may differ in its version.
func handoverKeepsOut(m *reloc.MapSpec) bool {
	return m.Source == reloc.MapKconfig || (m.Source == reloc.MapGlobalData && m.Freeze)
}

// removeHandover unpins everything of a handover under dir.
func removeHandover(dir string) {
	os.RemoveAll(filepath.Join(dir, handoverFeatures))
	os.RemoveAll(filepath.Join(dir, handoverObjects))
}

// Resume takes over a handover pinned under dir by a predecessor's
// Handover, and must be the set's first Enable. The maps it pinned are
// adopted where they still match this version's definitions, so the
// programs see the contents their predecessors left; the features it
// recorded are enabled, every program loaded anew from this version's
// instructions; then each pinned link is switched in place to the new
// program where the hook allows (BPF_LINK_UPDATE: xdp, tcx, netkit,
// cgroup, netns, sockmap), or closed once the new program is attached
// to the same hook beside it. Either way no hook is ever left empty.
// The pins are removed, and dir with them when nothing else is in it.
//
// Without a handover under dir Resume does nothing. If the enable
// fails, the handover stays pinned for another try, the old programs
// keep running, and the error is returned.
func (s *FeatureSet) Resume(ctx context.Context, dir string) (HandoverReport, error) {
	var rep HandoverReport
	entries, err := os.ReadDir(filepath.Join(dir, handoverFeatures))
	if errors.Is(err, os.ErrNotExist) {
		return rep, nil
	}
	if err != nil {
		return rep, fmt.Errorf("feature set: resume from %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		name, ok := unpinElem(e.Name())
		if !ok || s.byName[name] == nil {
			rep.Dropped = append(rep.Dropped, "feature "+name)
			continue
		}
		names = append(names, name)
	}
	feats, err := s.lock(names)
	if err != nil {
		return rep, err
	}
	defer unlock(feats)

	pinned, err := s.adoptHandover(dir, &rep)
	defer func() {
		for _, links := range pinned {
			for _, l := range links {
				l.Close() // this process's hold; the pin keeps the link
			}
		}
	}()
	if err != nil {
		return rep, fmt.Errorf("feature set: resume from %s: %w", dir, err)
	}
	s.mu.Lock()
	s.resume = make(map[*setProgram]bool)
	for sp, links := range pinned {
		s.resume[sp] = !slices.ContainsFunc(links, func(l pinnedLink) bool { return !l.updatable })
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.resume = nil
		s.mu.Unlock()
	}()
	if err := s.enableLocked(ctx, feats); err != nil {
		return rep, fmt.Errorf("feature set: resume from %s: %w", dir, err)
	}
	rep.Features = names
	var errs []error
	for sp, links := range pinned {
		errs = append(errs, s.takeOver(sp, links, &rep)...)
		delete(pinned, sp)
	}
	removeHandover(dir)
	os.Remove(dir) // where empty: Handover made it
	return rep, errors.Join(errs...)
}

// adoptHandover makes the set's maps use the maps pinned under dir and
// opens the pinned links, per program of the set. What this version does
// not define is listed as dropped; nothing is unpinned yet.
func (s *FeatureSet) adoptHandover(dir string, rep *HandoverReport) (map[*setProgram][]pinnedLink, error) {
	pinned := make(map[*setProgram][]pinnedLink)
	objDirs, err := os.ReadDir(filepath.Join(dir, handoverObjects))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return pinned, err
	}
	for _, od := range objDirs {
		objName, _ := unpinElem(od.Name())
		var o *Object
		for _, cand := range s.objs {
			if cand.Name() == objName {
				o = cand
			}
		}
		base := filepath.Join(dir, handoverObjects, od.Name())
		maps, _ := os.ReadDir(filepath.Join(base, "maps"))
		for _, e := range maps {
			if err := s.adoptMap(o, filepath.Join(base, "maps", e.Name()), rep); err != nil {
				return pinned, err
			}
		}
		progDirs, _ := os.ReadDir(filepath.Join(base, "links"))
		for _, pd := range progDirs {
			progName, _ := unpinElem(pd.Name())
			var sp *setProgram
			if o != nil {
				if p := o.Program(progName); p != nil {
					sp = s.byProg[p]
				}
			}
			links, _ := os.ReadDir(filepath.Join(base, "links", pd.Name()))
			for _, e := range links {
				path := filepath.Join(base, "links", pd.Name(), e.Name())
				what := objName + "/" + progName + "/" + e.Name()
				if sp == nil {
					// Unpinned with the rest once the enable worked.
					rep.Dropped = append(rep.Dropped, "link "+what)
					continue
				}
				l, err := LoadPinnedLink(path)
				if err != nil {
					return pinned, err
				}
				l.Target = "handed over"
				pinned[sp] = append(pinned[sp], pinnedLink{Link: l, path: path, what: what, updatable: linkUpdatable(l)})
			}
		}
	}
	return pinned, nil
}

// pinElem is name as a bpffs path element: the kernel refuses names with
// a dot there, so every byte but [A-Za-z0-9_] is written -XX (hex), which
// unpinElem undoes.
func pinElem(name string) string {
	var b strings.Builder
	for i := range len(name) {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "-%02x", c)
		}
	}
	return b.String()
}

func unpinElem(elem string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(elem); i++ {
		if elem[i] != '-' {
			b.WriteByte(elem[i])
			continue
		}
		if i+2 >= len(elem) {
			return "", false
		}
		v, err := strconv.ParseUint(elem[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), true
}

// pinnedLink is a link of a predecessor, opened from its pin.
type pinnedLink struct {
	*Link
	path      string
	what      string // OBJECT/PROGRAM/N, for the report
	updatable bool
}

// adoptMap makes o's map use the map pinned at path, or lists it as
// dropped when o does not define it as it is; the pin goes with the
// others once the enable worked.
func (s *FeatureSet) adoptMap(o *Object, path string, rep *HandoverReport) error {
	name, _ := unpinElem(filepath.Base(path))
	what := name
	var m *Map
	if o != nil {
		what = o.Name() + "/" + name
		m = o.Map(name)
	}
	if m == nil || m.Live() || handoverKeepsOut(m.spec) {
		rep.Dropped = append(rep.Dropped, "map "+what)
		return nil
	}
	fd, err := syscall.ObjGet(path, 0)
	if err != nil {
		return fmt.Errorf("map %s: %w", what, err)
	}
	err = m.ReuseFD(fd)
	unix.Close(fd)
	switch {
	case errors.Is(err, ErrIncompatibleMap):
		rep.Dropped = append(rep.Dropped, fmt.Sprintf("map %s (%v)", what, err))
		return nil
	case err != nil:
		return err
	}
	rep.Maps = append(rep.Maps, what)
	return nil
}

// linkUpdatable says whether the kernel switches a link of this kind to
// another program in place.
func linkUpdatable(l *Link) bool {
	info, err := syscall.LinkInfoByFD(l.att.fd)
	if err != nil {
		return false
	}
	switch info.Type {
	case uapi.LinkTypeCgroup, uapi.LinkTypeNetns, uapi.LinkTypeXDP, uapi.LinkTypeTCX, uapi.LinkTypeNetkit, uapi.LinkTypeSockMap:
		return true
	}
	return false
}

// takeOver moves sp's hooks from the pinned links of its predecessor to
// sp's new instance, and removes their pins.
func (s *FeatureSet) takeOver(sp *setProgram, links []pinnedLink, rep *HandoverReport) []error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	s.mu.Lock()
	running := sp.running
	s.mu.Unlock()
	var errs []error
	for _, l := range links {
		what := l.what
		switch {
		case !running:
			// Not enabled in this version's features: its predecessor
			// goes with the pin.
			rep.Dropped = append(rep.Dropped, "link "+what)
			l.Close()
		case l.updatable && s.resume[sp]:
			if err := l.Update(sp.p); err != nil {
				// Attached anew beside it instead, where the hook allows.
				errs = append(errs, fmt.Errorf("program %s: taking over %s: %w", sp.p.Name(), what, err))
				if links, err := s.attach(sp.p); err != nil {
					errs = append(errs, err)
				} else {
					s.mu.Lock()
					sp.links = append(sp.links, links...)
					s.mu.Unlock()
				}
				l.Close()
				break
			}
			l.mu.Lock()
			l.prog = sp.p
			l.mu.Unlock()
			sp.p.obj.mu.Lock()
			sp.p.links = append(sp.p.links, l.Link)
			sp.p.obj.mu.Unlock()
			s.mu.Lock()
			sp.links = append(sp.links, l.Link)
			s.mu.Unlock()
			rep.Updated = append(rep.Updated, what)
		default:
			rep.Replaced = append(rep.Replaced, what)
			l.Close()
		}
		os.Remove(l.path)
	}
	return errs
}
