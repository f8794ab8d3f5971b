package main

import (
	"context"
	"fmt"
	"io"

	"github.com/rawload/rawload/bpf"
)

// runRun loads the selected programs (all by default), attaches each by
// its section name, reports what is attached, and holds the attachments
// until SIGINT or SIGTERM cancels ctx; then it detaches and unloads
// everything. A program that fails to load or attach is reported and
// makes the exit status 1, but does not stop the others.
func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("run", "[--prog NAME]... [--parallel N] [--pin DIR] [--max-entries NAME=N]... OBJ", stderr)
	var names stringList
	fs.Var(&names, "prog", "run only this program (repeatable); default all")
	parallel := fs.Int("parallel", 0, "programs loaded at once; 0 means GOMAXPROCS")
	pin := fs.String("pin", "", "bpffs directory of maps pinned by name")
	sizes := addMaxEntriesFlag(fs)
	paths, code, ok := parseCommandLine(fs, args, 1, 1)
	if !ok {
		return code
	}
	path := paths[0]
	obj, err := bpf.Open(path, &bpf.Options{Parallelism: *parallel, PinPath: *pin})
	if err != nil {
		fmt.Fprintf(stderr, "rawload run: %v\n", err)
		return exitFailure
	}
	defer obj.Close()
	if err := sizes.apply(obj, false); err != nil {
		fmt.Fprintf(stderr, "rawload run: %s: %v\n", path, err)
		return exitUsage
	}
	progs, err := selectPrograms(obj, names)
	if err != nil {
		fmt.Fprintf(stderr, "rawload run: %s: %v\n", path, err)
		return exitUsage
	}
	verdicts, err := loadEach(ctx, obj, progs)
	if err != nil {
		fmt.Fprintf(stderr, "rawload run: %s: %v\n", path, err)
		return exitFailure
	}

	status := exitOK
	var links []*bpf.Link
	defer func() {
		for _, l := range links {
			l.Close()
		}
	}()
	t := newTable(stdout, "PROGRAM", "SECTION", "STATE")
	for i, p := range progs {
		state := "attached"
		if !verdicts[i].Loaded {
			state = "not loaded: " + verdicts[i].Error
			status = exitFailure
		} else if l, err := p.Attach(); err != nil {
			state = "not attached: " + errorSummary(err)
			status = exitFailure
		} else {
			links = append(links, l)
		}
		t.row(p.Name(), p.Section(), state)
	}
	if err := t.flush(); err != nil {
		fmt.Fprintf(stderr, "rawload run: %v\n", err)
		return exitFailure
	}
	if len(links) == 0 {
		fmt.Fprintln(stdout, "nothing attached")
		return exitFailure
	}
	fmt.Fprintf(stdout, "%d attached; SIGINT or SIGTERM detaches and exits\n", len(links))
	<-ctx.Done()
	fmt.Fprintln(stdout, "detaching")
	return status
}
