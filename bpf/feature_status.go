package bpf

import (
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/syscall"
)

// FeatureSetStatus is what a FeatureSet runs, as the kernel reports it.
type FeatureSetStatus struct {
	Features []FeatureStatus
	Programs []ProgramStatus
	Maps     []MapStatus
	// StatsEnabled says kernel.bpf_stats_enabled is on: only then do
	// programs count their runs and run time.
	StatsEnabled bool
}

// FeatureStatus is one feature.
type FeatureStatus struct {
	Name    string
	Enabled bool
	Members []MemberStatus
	// LastError is why the last Enable of the feature failed; nil once
	// one succeeded.
	LastError error
}

// MemberStatus is one member of a feature: its patterns and, while the
// feature is enabled, the alternative used, its programs, and why each
// earlier alternative was skipped.
type MemberStatus struct {
	Patterns []string
	// Chosen indexes Patterns; -1 while the feature is disabled.
	Chosen   int
	Programs []string
	Skipped  []SkippedAlternative
}

// ProgramStatus is one program of the set's Objects.
type ProgramStatus struct {
	Object  string
	Name    string
	Section string
	Loaded  bool
	// Features are the enabled features that use the program.
	Features []string
	Links    []LinkStatus
	// The rest is known while the program is loaded.
	ID            uint32
	VerifiedInsns uint32
	// LoadTime is how long the set's last load of the program took,
	// verification included.
	LoadTime time.Duration
	// RunCount and RunTime grow while kernel.bpf_stats_enabled is on.
	RunCount uint64
	RunTime  time.Duration
}

// LinkStatus is a hook a program is attached to.
type LinkStatus struct {
	Kind   string
	Target string
	// ID is the kernel's id of a BPF link, 0 for hooks that are not links.
	ID uint32
}

// MapStatus is one map of the set's Objects.
type MapStatus struct {
	Object string
	Name   string
	Live   bool
	// Users counts the loaded programs using the map (and live maps of
	// maps holding it).
	Users int
	// ID is the kernel's id of the live map.
	ID         uint32
	MaxEntries uint32
}

// Status reports every feature, program and map of the set. It does not
// wait for loads under way: a program being loaded shows as not loaded.
func (s *FeatureSet) Status() FeatureSetStatus {
	var st FeatureSetStatus
	st.StatsEnabled = statsEnabled()
	uses := make(map[*setProgram][]string)
	links := make([][]*Link, len(s.progs))
	loadTimes := make([]time.Duration, len(s.progs))
	s.mu.Lock()
	for _, f := range s.features {
		fs := FeatureStatus{Name: f.name, Enabled: f.enabled, LastError: f.lastErr}
		for mi, m := range f.members {
			ms := MemberStatus{Patterns: m.patterns, Chosen: -1}
			if f.enabled {
				c := f.chosen[mi]
				ms.Chosen, ms.Skipped = c.alt, c.skipped
				for _, sp := range c.progs {
					ms.Programs = append(ms.Programs, sp.p.Name())
					if !containsString(uses[sp], f.name) {
						uses[sp] = append(uses[sp], f.name)
					}
				}
			}
			fs.Members = append(fs.Members, ms)
		}
		st.Features = append(st.Features, fs)
	}
	for i, sp := range s.progs {
		links[i] = append(links[i], sp.links...)
		loadTimes[i] = sp.loadTime
	}
	s.mu.Unlock()

	for i, sp := range s.progs {
		p := sp.p
		ps := ProgramStatus{Object: p.obj.Name(), Name: p.Name(), Section: p.Section(), Features: uses[sp]}
		if info, ok := p.kernelInfo(); ok {
			ps.Loaded = true
			ps.ID, ps.VerifiedInsns = info.ID, info.VerifiedInsns
			ps.RunCount, ps.RunTime = info.RunCnt, time.Duration(info.RunTimeNs)
			ps.LoadTime = loadTimes[i]
		}
		for _, l := range links[i] {
			ls := LinkStatus{Kind: l.Kind, Target: l.Target}
			if info, err := l.Info(); err == nil {
				ls.ID = info.ID
			}
			ps.Links = append(ps.Links, ls)
		}
		st.Programs = append(st.Programs, ps)
	}
	for _, o := range s.objs {
		for _, m := range o.maps {
			ms := MapStatus{Object: o.Name(), Name: m.Name(), Users: m.Users(), MaxEntries: m.maxEntries()}
			if info, err := m.Info(); err == nil {
				ms.Live, ms.ID, ms.MaxEntries = true, info.ID, info.MaxEntries
			}
			st.Maps = append(st.Maps, ms)
		}
	}
	return st
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// kernelInfo asks the kernel about the loaded program without waiting
// for a load or reload under way: it queries a duplicate of the fd taken
// under the Object's lock, so the number cannot be closed and reused
// meanwhile.
func (p *Program) kernelInfo() (*syscall.ProgInfo, bool) {
	p.obj.mu.Lock()
	fd := -1
	if p.fd >= 0 && !p.obj.closed {
		fd, _ = unix.FcntlInt(uintptr(p.fd), unix.F_DUPFD_CLOEXEC, 0)
	}
	p.obj.mu.Unlock()
	if fd < 0 {
		return nil, false
	}
	defer unix.Close(fd)
	info, err := syscall.ProgInfoByFD(fd)
	if err != nil {
		return nil, false
	}
	return info, true
}

// maxEntries is the size the map is created with next.
func (m *Map) maxEntries() uint32 {
	m.state.RLock()
	defer m.state.RUnlock()
	return m.spec.MaxEntries
}

// statsEnabled reads kernel.bpf_stats_enabled.
func statsEnabled() bool {
	b, err := os.ReadFile("/proc/sys/kernel/bpf_stats_enabled")
	return err == nil && strings.TrimSpace(string(b)) != "0"
}
