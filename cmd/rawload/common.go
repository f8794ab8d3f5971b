package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"runtime"
	"strings"

	"github.com/rawload/rawload/bpf"
)

// addParallelFlag registers --parallel, which must be at least 1.
func addParallelFlag(fs *flag.FlagSet) *int {
	return fs.Int("parallel", runtime.GOMAXPROCS(0), "programs loaded at once (at least 1)")
}

// parallelism is what --parallel asks of the library: n when given, 0
// when not, so that the library's default holds (GOMAXPROCS, or one
// worker for a load of a few small programs).
func parallelism(fs *flag.FlagSet, n int) int {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "parallel" })
	if !given {
		return 0
	}
	return n
}

// checkParallel refuses --parallel below 1, saying so.
func checkParallel(fs *flag.FlagSet, n int) bool {
	if n < 1 {
		fmt.Fprintf(fs.Output(), "rawload %s: --parallel %d: must be at least 1\n", fs.Name(), n)
		return false
	}
	return true
}

// logMode is --log: "" shows the last lines of a failed program's log,
// "full" asks the verifier for a log of every load and shows all of it.
type logMode string

func (m *logMode) String() string   { return string(*m) }
func (m *logMode) IsBoolFlag() bool { return true }

func (m *logMode) Set(v string) error {
	switch v {
	case "true", "full":
		*m = "full"
	case "false", "":
		*m = ""
	default:
		return fmt.Errorf("%q: want --log or --log=full", v)
	}
	return nil
}

func addLogFlag(fs *flag.FlagSet) *logMode {
	m := new(logMode)
	fs.Var(m, "log", "print every program's full verifier log (--log or --log=full); failures always show the log's last lines")
	return m
}

// logTailLines is how much of a failed program's verifier log is shown
// by default: where it gave up, with the source lines around it.
const logTailLines = 20

func logTail(log string) string {
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	if len(lines) > logTailLines {
		lines = append([]string{"..."}, lines[len(lines)-logTailLines:]...)
	}
	return strings.Join(lines, "\n")
}

// accessError is why bpf(2) cannot be used here at all, nil when it can:
// a command says it once, rather than once per program. Any other
// failure of the probe is left for each program to report.
func accessError() error {
	if err := bpf.CheckAccess(); errors.Is(err, bpf.ErrNoPermission) {
		return err
	}
	return nil
}

// interrupted reports whether err is a program that was never attempted
// because the command was interrupted.
func interrupted(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// programNames lists the programs of obj, for an error about one it lacks.
func programNames(obj *bpf.Object) string {
	var names []string
	for _, p := range obj.Programs() {
		names = append(names, p.Name())
	}
	return strings.Join(names, ", ")
}
