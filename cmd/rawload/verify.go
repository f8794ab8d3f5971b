package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/rawload/rawload/bpf"
)

// runVerify gives every program of every object its own verdict, like
// veristat: a program that fails never stops the others, and an object
// that cannot be opened is one failed row before the next object.
func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("verify", "[--json] [--parallel N] [--pin DIR] [--max-entries NAME=N]... [--log[=full]] OBJ...", stderr)
	asJSON := fs.Bool("json", false, "print one JSON array of program verdicts")
	parallel := addParallelFlag(fs)
	pin := fs.String("pin", "", "bpffs directory of maps pinned by name")
	logs := addLogFlag(fs)
	sizes := addMaxEntriesFlag(fs)
	paths, code, ok := parseCommandLine(fs, args, 1, -1)
	if !ok {
		return code
	}
	if !checkParallel(fs, *parallel) {
		return exitUsage
	}
	if err := accessError(); err != nil {
		if *asJSON {
			writeJSON(stdout, []verdict{{Error: errorSummary(err)}})
		} else {
			fmt.Fprintf(stderr, "rawload verify: %v\n", err)
		}
		return exitFailure
	}

	start := time.Now()
	verdicts := []verdict{}
	opts := &bpf.Options{Parallelism: parallelism(fs, *parallel), PinPath: *pin}
	if *logs == "full" {
		opts.LogLevel = 1
	}
	for _, path := range paths {
		if ctx.Err() != nil {
			break
		}
		verdicts = append(verdicts, verifyObject(ctx, path, opts, sizes, terminal(stderr))...)
	}
	var err error
	if *asJSON {
		err = writeJSON(stdout, verdicts)
	} else {
		err = printVerify(stdout, verdicts, time.Since(start), *logs == "full")
	}
	if err != nil {
		fmt.Fprintf(stderr, "rawload verify: %v\n", err)
		return exitFailure
	}
	return exitStatus(verdicts)
}

// verifyObject loads every program of one object and closes it, so that
// the next object starts with the fds it had before.
func verifyObject(ctx context.Context, path string, opts *bpf.Options, sizes mapSizes, progress io.Writer) []verdict {
	objectFailed := func(err error) []verdict {
		v := verdict{Object: path}
		v.fail(err)
		return []verdict{v}
	}
	obj, err := bpf.Open(path, opts)
	if err != nil {
		return objectFailed(err)
	}
	defer obj.Close()
	if err := sizes.apply(obj, true); err != nil {
		return objectFailed(fmt.Errorf("object %s: %w", path, err))
	}
	progs, _ := selectPrograms(obj, nil)
	verdicts, err := loadEach(ctx, obj, progs, progress)
	if err != nil {
		return objectFailed(fmt.Errorf("object %s: %w", path, err))
	}
	for i := range verdicts {
		verdicts[i].Object = path
	}
	return verdicts
}

// printVerify prints the table, the reason of each failure, then the
// totals. The load times add up to more than the wall time when programs
// load in parallel.
func printVerify(w io.Writer, verdicts []verdict, wall time.Duration, fullLogs bool) error {
	t := newTable(w, "OBJECT", "PROGRAM", "SECTION", "VERDICT", "INSNS", "VERIFIED INSNS", "TIME")
	var (
		programs, loaded, unopened int
		verified                   uint64
		total                      time.Duration
	)
	for _, v := range verdicts {
		t.row(v.Object, orDash(v.Program), orDash(v.Section), v.verdictName(), strconv.Itoa(v.Insns),
			strconv.FormatUint(uint64(v.VerifiedInsns), 10), formatDuration(v.loadTime()))
		switch {
		case v.Program == "":
			unopened++
		case v.Loaded:
			programs++
			loaded++
		default:
			programs++
		}
		verified += uint64(v.VerifiedInsns)
		total += v.loadTime()
	}
	if err := t.flush(); err != nil {
		return err
	}
	failures, notAttempted := false, 0
	for _, v := range verdicts {
		if v.err != nil && interrupted(v.err) {
			notAttempted++
			continue
		}
		if v.Error == "" {
			continue
		}
		if !failures {
			fmt.Fprintln(w, "\nfailures:")
			failures = true
		}
		fmt.Fprintf(w, "  %s: %s\n", v.Object, v.Error)
		if v.log != "" && !fullLogs {
			fmt.Fprintf(w, "%s\n", indent(logTail(v.log), "    "))
		}
	}
	if fullLogs {
		for _, v := range verdicts {
			if v.log != "" {
				fmt.Fprintf(w, "\n--- verifier log of %s %s ---\n%s\n", v.Object, v.Program, v.log)
			}
		}
	}
	if notAttempted > 0 {
		fmt.Fprintf(w, "\ninterrupted: %d programs not loaded", notAttempted)
	}
	fmt.Fprintf(w, "\nprograms: %d, loaded: %d, failed: %d", programs, loaded, programs-loaded)
	if unopened > 0 {
		fmt.Fprintf(w, ", objects not opened: %d", unopened)
	}
	_, err := fmt.Fprintf(w, ", verified insns: %d, load time: %s, wall time: %s\n",
		verified, formatDuration(total), formatDuration(wall))
	return err
}

func indent(text, prefix string) string {
	return prefix + strings.ReplaceAll(text, "\n", "\n"+prefix)
}
