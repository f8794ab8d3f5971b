package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/rawload/rawload/bpf"
)

// statusReply is the reply to {"op":"status"}.
type statusReply struct {
	OK           bool            `json:"ok"`
	StatsEnabled bool            `json:"stats_enabled"`
	Features     []featureRecord `json:"features"`
	Programs     []programRecord `json:"programs"`
	Maps         []mapRecord     `json:"maps"`
}

type featureRecord struct {
	Name    string         `json:"name"`
	Enabled bool           `json:"enabled"`
	Members []memberRecord `json:"members"`
	// Error is why the last enable failed.
	Error string `json:"error,omitempty"`
}

type memberRecord struct {
	Patterns []string `json:"patterns"`
	// Chosen is the alternative used while the feature is enabled.
	Chosen   string       `json:"chosen,omitempty"`
	Programs []string     `json:"programs,omitempty"`
	Skipped  []skipRecord `json:"skipped,omitempty"`
}

type skipRecord struct {
	Pattern string `json:"pattern"`
	Reason  string `json:"reason"`
}

type programRecord struct {
	Object        string       `json:"object"`
	Name          string       `json:"name"`
	Section       string       `json:"section"`
	Loaded        bool         `json:"loaded"`
	ID            uint32       `json:"id,omitempty"`
	Features      []string     `json:"features,omitempty"`
	Links         []linkRecord `json:"links,omitempty"`
	VerifiedInsns uint32       `json:"verified_insns,omitempty"`
	LoadNS        int64        `json:"load_ns,omitempty"`
	RunCount      uint64       `json:"run_count"`
	RunNS         int64        `json:"run_ns"`
}

type linkRecord struct {
	Kind   string `json:"kind"`
	Target string `json:"target"`
	ID     uint32 `json:"id,omitempty"`
}

type mapRecord struct {
	Object     string `json:"object"`
	Name       string `json:"name"`
	Live       bool   `json:"live"`
	Users      int    `json:"users"`
	ID         uint32 `json:"id,omitempty"`
	MaxEntries uint32 `json:"max_entries"`
}

func (s *server) statusReply() statusReply {
	st := s.set.Status()
	r := statusReply{OK: true, StatsEnabled: st.StatsEnabled}
	for _, f := range st.Features {
		fr := featureRecord{Name: f.Name, Enabled: f.Enabled, Members: []memberRecord{}}
		if f.LastError != nil {
			fr.Error = f.LastError.Error()
		}
		for _, m := range f.Members {
			mr := memberRecord{Patterns: m.Patterns, Programs: m.Programs}
			if m.Chosen >= 0 {
				mr.Chosen = m.Patterns[m.Chosen]
			}
			for _, sk := range m.Skipped {
				mr.Skipped = append(mr.Skipped, skipRecord{sk.Pattern, errorSummary(sk.Err)})
			}
			fr.Members = append(fr.Members, mr)
		}
		r.Features = append(r.Features, fr)
	}
	for _, p := range st.Programs {
		pr := programRecord{Object: p.Object, Name: p.Name, Section: p.Section, Loaded: p.Loaded, ID: p.ID,
			Features: p.Features, VerifiedInsns: p.VerifiedInsns, LoadNS: int64(p.LoadTime),
			RunCount: p.RunCount, RunNS: int64(p.RunTime)}
		for _, l := range p.Links {
			pr.Links = append(pr.Links, linkRecord{l.Kind, l.Target, l.ID})
		}
		r.Programs = append(r.Programs, pr)
	}
	for _, m := range st.Maps {
		r.Maps = append(r.Maps, mapRecord{m.Object, m.Name, m.Live, m.Users, m.ID, m.MaxEntries})
	}
	return r
}

// printStatus is `rawload ctl status`: three tables.
func printStatus(w io.Writer, st bpf.FeatureSetStatus) {
	t := newTable(w, "FEATURE", "STATE", "PROGRAMS")
	for _, f := range st.Features {
		state, progs := "disabled", "-"
		if f.Enabled {
			state = "enabled"
			var parts []string
			for _, m := range f.Members {
				part := strings.Join(m.Programs, ",")
				for _, sk := range m.Skipped {
					part += " (" + sk.Pattern + " skipped: " + errorSummary(sk.Err) + ")"
				}
				parts = append(parts, part)
			}
			progs = strings.Join(parts, " ")
		} else if f.LastError != nil {
			state = "failed: " + errorSummary(f.LastError)
		}
		t.row(f.Name, state, progs)
	}
	t.flush()
	fmt.Fprintln(w)
	t = newTable(w, "PROGRAM", "OBJECT", "ID", "FEATURES", "HOOKS", "VERIFIED", "LOAD", "RUNS", "RUN TIME")
	for _, p := range st.Programs {
		id, verified, load, runs, runTime := "-", "-", "-", "-", "-"
		if p.Loaded {
			id, verified, load = strconv.FormatUint(uint64(p.ID), 10), strconv.FormatUint(uint64(p.VerifiedInsns), 10), formatDuration(p.LoadTime)
			if st.StatsEnabled {
				runs, runTime = strconv.FormatUint(p.RunCount, 10), formatDuration(p.RunTime)
			}
		}
		var hooks []string
		for _, l := range p.Links {
			hooks = append(hooks, fmt.Sprintf("%s %s (link %d)", l.Kind, l.Target, l.ID))
		}
		t.row(p.Name, p.Object, id, orDash(strings.Join(p.Features, ",")), orDash(strings.Join(hooks, ", ")), verified, load, runs, runTime)
	}
	t.flush()
	fmt.Fprintln(w)
	t = newTable(w, "MAP", "OBJECT", "ID", "USERS", "ENTRIES")
	for _, m := range st.Maps {
		id := "-"
		if m.Live {
			id = strconv.FormatUint(uint64(m.ID), 10)
		}
		t.row(m.Name, m.Object, id, strconv.Itoa(m.Users), strconv.FormatUint(uint64(m.MaxEntries), 10))
	}
	t.flush()
	if !st.StatsEnabled {
		fmt.Fprintln(w, "\nrun counts need kernel.bpf_stats_enabled=1")
	}
}
