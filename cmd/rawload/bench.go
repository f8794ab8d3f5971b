package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/rawload/rawload/bpf"
)

// benchRun is where one Open, Object.Load and Close of an object went.
type benchRun struct {
	Parse     time.Duration `json:"parse_ns"`
	Relocate  time.Duration `json:"relocate_ns"`
	ObjectBTF time.Duration `json:"object_btf_ns"`
	MapCreate time.Duration `json:"map_create_ns"`
	ProgLoad  time.Duration `json:"prog_load_ns"`
	LoadWall  time.Duration `json:"load_wall_ns"`
	Total     time.Duration `json:"total_ns"`
	Programs  int           `json:"programs"`
	Maps      int           `json:"maps"`
	Restarts  int           `json:"restarts"`
	// Failed lists the programs that did not load, each with why: they
	// are left out of the timings.
	Failed []string `json:"failed,omitempty"`
}

// runBench times the phases of loading an object: parse (the ELF reader
// alone), relocate (the rest of Open: linking, CO-RE, slots, externs),
// the object's BTF, map creation, program loads (time in PROG_LOAD,
// summed over programs: the kernel's verification) and the wall time of
// Object.Load, which parallel workers make shorter than that sum.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("bench", "[--json] [-n RUNS] [--parallel N] [--max-entries NAME=N]... OBJ", stderr)
	asJSON := fs.Bool("json", false, "print one JSON document")
	runs := fs.Int("n", 5, "runs, each a fresh Open, Object.Load and Close")
	parallel := addParallelFlag(fs)
	sizes := addMaxEntriesFlag(fs)
	paths, code, ok := parseCommandLine(fs, args, 1, 1)
	if !ok {
		return code
	}
	if *runs < 1 {
		fmt.Fprintln(stderr, "rawload bench: -n must be at least 1")
		return exitUsage
	}
	if !checkParallel(fs, *parallel) {
		return exitUsage
	}
	fail := func(err error) int {
		if *asJSON {
			writeJSON(stdout, map[string]string{"object": paths[0], "error": errorSummary(err)})
		} else {
			fmt.Fprintf(stderr, "rawload bench: %s: %s\n", paths[0], errorSummary(err))
		}
		return exitFailure
	}
	if err := accessError(); err != nil {
		return fail(err)
	}
	var results []benchRun
	for range *runs {
		r, err := benchOnce(ctx, paths[0], &bpf.Options{Parallelism: *parallel}, sizes)
		if err != nil {
			return fail(err)
		}
		results = append(results, r)
	}
	var err error
	if *asJSON {
		err = writeJSON(stdout, results)
	} else {
		err = printBench(stdout, paths[0], *parallel, results)
	}
	if err != nil {
		fmt.Fprintf(stderr, "rawload bench: %v\n", err)
		return exitFailure
	}
	return exitOK
}

func benchOnce(ctx context.Context, path string, opts *bpf.Options, sizes mapSizes) (benchRun, error) {
	var r benchRun
	obj, err := bpf.Open(path, opts)
	if err != nil {
		return r, err
	}
	defer obj.Close()
	if err := sizes.apply(obj, false); err != nil {
		return r, err
	}
	loadStart := time.Now()
	results, err := obj.LoadEach(ctx)
	if err != nil {
		return r, err
	}
	r.LoadWall = time.Since(loadStart)
	for _, res := range results {
		if res.Err != nil {
			r.Failed = append(r.Failed, programError(res.Program.Name(), res.Err))
		}
	}
	if len(r.Failed) == len(results) && len(results) > 0 {
		return r, fmt.Errorf("no program loads: %s", r.Failed[0])
	}
	s := obj.Stats()
	r.Parse, r.Relocate = s.Parse, s.Open-s.Parse
	r.ObjectBTF, r.MapCreate, r.ProgLoad = s.ObjectBTF, s.MapCreate, s.ProgLoad
	r.Programs, r.Maps, r.Restarts = s.ProgLoads, s.MapsCreated, s.Restarts
	r.Total = s.Open + r.LoadWall
	return r, nil
}

func printBench(w io.Writer, path string, parallel int, runs []benchRun) error {
	last := runs[len(runs)-1]
	fmt.Fprintf(w, "%s: %d runs, %d programs, %d maps, parallel %s\n\n", path, len(runs), last.Programs, last.Maps, parallelName(parallel))
	t := newTable(w, "PHASE", "MEDIAN", "MIN", "MAX")
	phases := []struct {
		name string
		of   func(benchRun) time.Duration
	}{
		{"parse", func(r benchRun) time.Duration { return r.Parse }},
		{"relocate", func(r benchRun) time.Duration { return r.Relocate }},
		{"object BTF", func(r benchRun) time.Duration { return r.ObjectBTF }},
		{"map creation", func(r benchRun) time.Duration { return r.MapCreate }},
		{"program loads (kernel, summed)", func(r benchRun) time.Duration { return r.ProgLoad }},
		{"Object.Load (wall)", func(r benchRun) time.Duration { return r.LoadWall }},
		{"total", func(r benchRun) time.Duration { return r.Total }},
	}
	for _, ph := range phases {
		var ds []time.Duration
		for _, r := range runs {
			ds = append(ds, ph.of(r))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		t.row(ph.name, formatDuration(ds[len(ds)/2]), formatDuration(ds[0]), formatDuration(ds[len(ds)-1]))
	}
	if err := t.flush(); err != nil {
		return err
	}
	restarts := 0
	for _, r := range runs {
		restarts += r.Restarts
	}
	_, err := fmt.Fprintf(w, "\nEAGAIN restarts: %d in %d runs\n", restarts, len(runs))
	if len(last.Failed) > 0 {
		fmt.Fprintf(w, "\nnot loaded, left out of the timings:\n")
		for _, f := range last.Failed {
			fmt.Fprintf(w, "  %s\n", f)
		}
	}
	return err
}

func parallelName(n int) string {
	if n <= 0 {
		return "GOMAXPROCS"
	}
	return strconv.Itoa(n)
}
