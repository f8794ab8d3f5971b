package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/rawload/rawload/bpf"
)

// attachRecord is one program of `run`: where it is attached, or why not.
type attachRecord struct {
	Program string `json:"program"`
	Section string `json:"section"`
	Hook    string `json:"hook,omitempty"`
	Target  string `json:"target,omitempty"`
	LinkID  uint32 `json:"link_id,omitempty"`
	// State is "attached", "nothing to attach to", "hook not in this
	// kernel", "not loaded" or "not attached".
	State string `json:"state"`
	Error string `json:"error,omitempty"`
}

// runRun loads the selected programs (all by default), attaches each by
// its section name and the hook options given, reports what is attached,
// and holds the attachments until SIGINT or SIGTERM cancels ctx; then it
// detaches and unloads everything. A program with nothing to attach to
// (a hook the options do not name) is reported and is not a failure; a
// program that fails to load or attach makes the exit status 1 but does
// not stop the others.
func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("run", "[--prog NAME]... [--iface NAME] [--cgroup PATH] [--pid PID] [--max-entries NAME=N]... [--parallel N] [--pin DIR] [--json] OBJ", stderr)
	var names stringList
	fs.Var(&names, "prog", "run only this program (repeatable); default all")
	iface := fs.String("iface", "", "network interface of xdp, tc and tcx programs")
	cgroup := fs.String("cgroup", "", "cgroup v2 directory of cgroup and sockops programs")
	pid := fs.Int("pid", 0, "process uprobes and usdt probes are narrowed to; 0 for all")
	asJSON := fs.Bool("json", false, "print the attachments as one JSON document")
	parallel := addParallelFlag(fs)
	pin := fs.String("pin", "", "bpffs directory of maps pinned by name")
	sizes := addMaxEntriesFlag(fs)
	paths, code, ok := parseCommandLine(fs, args, 1, 1)
	if !ok {
		return code
	}
	if !checkParallel(fs, *parallel) {
		return exitUsage
	}
	path := paths[0]
	fail := func(code int, err error) int {
		if *asJSON {
			writeJSON(stdout, map[string]string{"object": path, "error": errorSummary(err)})
		} else {
			fmt.Fprintf(stderr, "rawload run: %v\n", err)
		}
		return code
	}
	if err := accessError(); err != nil {
		return fail(exitFailure, err)
	}
	obj, err := bpf.Open(path, &bpf.Options{Parallelism: parallelism(fs, *parallel), PinPath: *pin})
	if err != nil {
		return fail(exitFailure, err)
	}
	defer obj.Close()
	if err := sizes.apply(obj, false); err != nil {
		return fail(exitUsage, fmt.Errorf("%s: %w", path, err))
	}
	progs, err := selectPrograms(obj, names)
	if err != nil {
		return fail(exitUsage, fmt.Errorf("%s: %w", path, err))
	}
	verdicts, err := loadEach(ctx, obj, progs, terminal(stderr))
	if err != nil {
		return fail(exitFailure, fmt.Errorf("%s: %w", path, err))
	}

	opts := bpf.AttachOptions{Interface: *iface, Cgroup: *cgroup, PID: *pid}
	status := exitOK
	var links []*bpf.Link
	defer func() {
		for _, l := range links {
			l.Close()
		}
	}()
	structOps, mapRecords := registerStructOps(obj, progs, verdicts, &links)
	records := make([]attachRecord, len(progs))
	for i, p := range progs {
		r := &records[i]
		r.Program, r.Section = p.Name(), p.Section()
		if !verdicts[i].Loaded {
			r.State, r.Error = "not loaded", verdicts[i].Error
			status = exitFailure
			continue
		}
		if via, ok := structOps[p.Name()]; ok {
			*r = via
			r.Program, r.Section = p.Name(), p.Section()
			if r.State != "attached" {
				status = exitFailure
			}
			continue
		}
		l, err := p.AttachWith(opts)
		switch {
		case err == nil:
			links = append(links, l)
			r.State, r.Hook, r.Target = "attached", l.Kind, l.Target
			if info, err := l.Info(); err == nil {
				r.LinkID = info.ID
			}
		case nothingToAttach(err):
			r.State, r.Error = "nothing to attach to", errorSummary(err)
		case errors.Is(err, bpf.ErrHookUnavailable):
			r.State, r.Error = "hook not in this kernel", errorSummary(err)
		default:
			r.State, r.Error = "not attached", errorSummary(err)
			status = exitFailure
		}
	}
	for _, r := range mapRecords {
		if r.State != "attached" {
			status = exitFailure
		}
	}
	records = append(records, mapRecords...)
	if *asJSON {
		err = writeJSON(stdout, records)
	} else {
		err = printRun(stdout, records, len(links))
	}
	if err != nil {
		fmt.Fprintf(stderr, "rawload run: %v\n", err)
		return exitFailure
	}
	if len(links) == 0 {
		return exitFailure
	}
	<-ctx.Done()
	if !*asJSON {
		fmt.Fprintln(stdout, "detaching")
	}
	return status
}

// registerStructOps registers every struct_ops map whose programs are
// all among the loaded ones (Map.AttachStructOps), appending its link to
// links. It returns, by program name, how each of those programs runs,
// and a record per map (Program holding "map NAME").
func registerStructOps(obj *bpf.Object, progs []*bpf.Program, verdicts []verdict, links *[]*bpf.Link) (map[string]attachRecord, []attachRecord) {
	loaded := make(map[string]bool, len(progs))
	for i, p := range progs {
		loaded[p.Name()] = verdicts[i].Loaded
	}
	byProgram := make(map[string]attachRecord)
	var maps []attachRecord
	for _, m := range obj.Maps() {
		spec := m.Spec()
		if spec.Source != bpf.SourceStructOps {
			continue
		}
		r := attachRecord{Program: "map " + spec.Name, Section: spec.Section, Hook: "struct_ops", Target: spec.ValueType}
		selected := true
		var missing []string
		for _, f := range spec.StructOps {
			ok, chosen := loaded[f.Program]
			selected = selected && chosen
			if chosen && !ok {
				missing = append(missing, f.Program)
			}
		}
		switch {
		case !selected:
			continue // --prog left some of its programs out
		case len(missing) > 0:
			r.State, r.Error = "not attached", fmt.Sprintf("programs not loaded: %v", missing)
		default:
			l, err := m.AttachStructOps()
			if err != nil {
				r.State, r.Error = "not attached", errorSummary(err)
				break
			}
			*links = append(*links, l)
			r.State = "attached"
			if info, err := l.Info(); err == nil {
				r.LinkID = info.ID
			}
		}
		maps = append(maps, r)
		for _, f := range spec.StructOps {
			via := attachRecord{Hook: "struct_ops", Target: spec.Name + "." + f.Member, LinkID: r.LinkID, State: r.State, Error: r.Error}
			if prev, ok := byProgram[f.Program]; !ok || prev.State != "attached" {
				byProgram[f.Program] = via
			}
		}
	}
	return byProgram, maps
}

// nothingToAttach reports whether an attach failed for want of a hook to
// attach to, rather than because attaching went wrong.
func nothingToAttach(err error) bool {
	return errors.Is(err, bpf.ErrAttachUnsupported) || errors.Is(err, bpf.ErrAttachTargetMissing)
}

func printRun(w io.Writer, records []attachRecord, attached int) error {
	t := newTable(w, "PROGRAM", "SECTION", "HOOK", "LINK", "STATE")
	for _, r := range records {
		hook, link := "-", "-"
		if r.Hook != "" {
			hook = r.Hook + " " + r.Target
		}
		if r.LinkID != 0 {
			link = strconv.FormatUint(uint64(r.LinkID), 10)
		}
		state := r.State
		if r.Error != "" {
			state += ": " + r.Error
		}
		t.row(r.Program, r.Section, hook, link, state)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if attached == 0 {
		_, err := fmt.Fprintln(w, "nothing attached")
		return err
	}
	_, err := fmt.Fprintf(w, "%d attached; SIGINT or SIGTERM detaches and exits\n", attached)
	return err
}
