package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/rawload/rawload/bpf"
)

// loadRecord is one program of `load --json`: the verify record plus the
// verifier log (the whole log with --log, the last lines of a failure's
// otherwise).
type loadRecord struct {
	verdict
	Log string `json:"log,omitempty"`
}

func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("load", "[--json] [--prog NAME]... [--parallel N] [--pin DIR] [--max-entries NAME=N]... [--log[=full]] OBJ", stderr)
	asJSON := fs.Bool("json", false, "print one JSON document")
	var names stringList
	fs.Var(&names, "prog", "load only this program (repeatable); default all")
	parallel := addParallelFlag(fs)
	pin := fs.String("pin", "", "bpffs directory of maps pinned by name")
	logs := addLogFlag(fs)
	sizes := addMaxEntriesFlag(fs)
	paths, code, ok := parseCommandLine(fs, args, 1, 1)
	if !ok {
		return code
	}
	if !checkParallel(fs, *parallel) {
		return exitUsage
	}
	path := paths[0]
	// With --json, a failure of the object itself is a JSON document too.
	fail := func(code int, err error) int {
		if *asJSON {
			writeJSON(stdout, []loadRecord{{verdict: verdict{Object: path, Error: errorSummary(err)}}})
		} else {
			fmt.Fprintf(stderr, "rawload load: %v\n", err)
		}
		return code
	}
	if err := accessError(); err != nil {
		return fail(exitFailure, err)
	}

	opts := &bpf.Options{Parallelism: parallelism(fs, *parallel), PinPath: *pin}
	if *logs == "full" {
		opts.LogLevel = 1
	}
	obj, err := bpf.Open(path, opts)
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

	records := make([]loadRecord, len(verdicts))
	for i, v := range verdicts {
		v.Object = path
		records[i] = loadRecord{verdict: v}
		switch {
		case *logs == "full":
			records[i].Log = v.log
		case !v.Loaded && v.log != "":
			records[i].Log = logTail(v.log)
		}
	}
	if *asJSON {
		err = writeJSON(stdout, records)
	} else {
		err = printLoad(stdout, records)
	}
	if err != nil {
		fmt.Fprintf(stderr, "rawload load: %v\n", err)
		return exitFailure
	}
	return exitStatus(verdicts)
}

// selectPrograms returns the programs named, in file order, or every
// program when none is named.
func selectPrograms(obj *bpf.Object, names []string) ([]*bpf.Program, error) {
	if len(names) == 0 {
		// A struct_ops program no struct_ops map points at cannot load
		// (nothing says which member it implements); libbpf leaves it
		// out too.
		return slices.DeleteFunc(obj.Programs(), func(p *bpf.Program) bool {
			return errors.Is(p.Err(), bpf.ErrStructOpsUnused)
		}), nil
	}
	want := make(map[string]bool, len(names))
	for _, name := range names {
		if obj.Program(name) == nil {
			return nil, fmt.Errorf("no program %q; the object has: %s", name, programNames(obj))
		}
		want[name] = true
	}
	var progs []*bpf.Program
	for _, p := range obj.Programs() {
		if want[p.Name()] {
			progs = append(progs, p)
		}
	}
	return progs, nil
}

func printLoad(w io.Writer, records []loadRecord) error {
	t := newTable(w, "PROGRAM", "SECTION", "TYPE", "VERDICT", "INSNS", "VERIFIED INSNS", "TIME")
	for _, r := range records {
		t.row(r.Program, r.Section, r.Type, r.verdictName(), strconv.Itoa(r.Insns),
			strconv.FormatUint(uint64(r.VerifiedInsns), 10), formatDuration(r.loadTime()))
	}
	if err := t.flush(); err != nil {
		return err
	}
	notAttempted := 0
	for _, r := range records {
		if r.err != nil && interrupted(r.err) {
			notAttempted++
			continue
		}
		if r.Error != "" {
			fmt.Fprintf(w, "\n%s\n", r.Error)
		}
		if r.Log != "" {
			fmt.Fprintf(w, "--- verifier log of %s ---\n%s\n", r.Program, r.Log)
		}
	}
	if notAttempted > 0 {
		fmt.Fprintf(w, "\ninterrupted: %d programs not loaded\n", notAttempted)
	}
	return nil
}
