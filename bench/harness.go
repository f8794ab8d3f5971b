package bench

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// Harness is the command line shared by cmd/ciliumload and
// cmd/rawloadload, the same as libbpf/loader.c's:
//
//	NAME [-n RUNS] [-p PROG]... [-1] OBJ
//
// It runs load RUNS times and prints each run's wall time in nanoseconds,
// one line per run, then "N programs loaded per run" on stderr; -1 loads
// once and prints nothing (for timing fresh processes). -m MAP is
// accepted and ignored: the Go loaders find the maps a program uses
// themselves. It returns the exit status: 0, 1 if a load failed, 2 for
// bad usage.
func Harness(name string, args []string, stdout, stderr io.Writer, load func(path string, progs []string) (int, error)) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s [-n RUNS] [-p PROG]... [-1] OBJ\n", name)
	}
	runs := fs.Int("n", 1, "open, load and close the object this many times")
	var progs, maps nameList
	fs.Var(&progs, "p", "load only this program (repeatable)")
	fs.Var(&maps, "m", "ignored: maps are those the loaded programs use")
	once := fs.Bool("1", false, "load once and print nothing")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 || *runs < 1 {
		if err == nil {
			fs.Usage()
		}
		return 2
	}
	path := fs.Arg(0)
	if *once {
		*runs = 1
	}
	loaded := 0
	for i := range *runs {
		start := time.Now()
		n, err := load(path, progs)
		took := time.Since(start)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %s: run %d: %v\n", name, path, i, err)
			return 1
		}
		loaded = n
		if !*once {
			fmt.Fprintln(stdout, took.Nanoseconds())
		}
	}
	if !*once {
		fmt.Fprintf(stderr, "%s: %s: %d programs loaded per run\n", name, path, loaded)
	}
	return 0
}

type nameList []string

func (l *nameList) String() string { return strings.Join(*l, ",") }

func (l *nameList) Set(s string) error {
	*l = append(*l, s)
	return nil
}
