package main

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/rawload/rawload/bpf"
)

// loadRecord is one program of `load --json`: the verify record plus the
// verifier log when --log asked for it.
type loadRecord struct {
	verdict
	Log string `json:"log,omitempty"`
}

func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("load", "[--json] [--prog NAME]... [--parallel N] [--pin DIR] [--max-entries NAME=N]... [--log] OBJ", stderr)
	asJSON := fs.Bool("json", false, "print one JSON document")
	var names stringList
	fs.Var(&names, "prog", "load only this program (repeatable); default all")
	parallel := fs.Int("parallel", 0, "programs loaded at once; 0 means GOMAXPROCS")
	pin := fs.String("pin", "", "bpffs directory of maps pinned by name")
	withLog := fs.Bool("log", false, "ask the verifier for a log of every load and print it")
	sizes := addMaxEntriesFlag(fs)
	paths, code, ok := parseCommandLine(fs, args, 1, 1)
	if !ok {
		return code
	}
	path := paths[0]

	opts := &bpf.Options{Parallelism: *parallel, PinPath: *pin}
	if *withLog {
		opts.LogLevel = 1
	}
	obj, err := bpf.Open(path, opts)
	if err != nil {
		fmt.Fprintf(stderr, "rawload load: %v\n", err)
		return exitFailure
	}
	defer obj.Close()
	if err := sizes.apply(obj, false); err != nil {
		fmt.Fprintf(stderr, "rawload load: %s: %v\n", path, err)
		return exitUsage
	}

	progs, err := selectPrograms(obj, names)
	if err != nil {
		fmt.Fprintf(stderr, "rawload load: %s: %v\n", path, err)
		return exitUsage
	}
	verdicts, err := loadEach(ctx, obj, progs)
	if err != nil {
		fmt.Fprintf(stderr, "rawload load: %s: %v\n", path, err)
		return exitFailure
	}

	records := make([]loadRecord, len(verdicts))
	for i, v := range verdicts {
		v.Object = path
		records[i] = loadRecord{verdict: v}
		if *withLog {
			records[i].Log = v.log
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
		return obj.Programs(), nil
	}
	want := make(map[string]bool, len(names))
	for _, name := range names {
		if obj.Program(name) == nil {
			return nil, fmt.Errorf("no program %q", name)
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
	for _, r := range records {
		if r.Error != "" {
			fmt.Fprintf(w, "\n%s: %s\n", r.Program, r.Error)
		}
		if r.Log != "" {
			fmt.Fprintf(w, "\n--- verifier log of %s ---\n%s\n", r.Program, r.Log)
		}
	}
	return nil
}
