package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// newFlagSet returns a FlagSet that reports errors instead of exiting, so
// that run stays testable in-process.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: rawload %s %s\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseArgs parses flags wherever they appear among the positional
// arguments: flag stops at the first positional one, so the rest is parsed
// again after setting it aside. Everything after "--" is positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// parseCommandLine parses args and checks the number of positional
// arguments. It returns the exit code to use when the command must stop:
// exitOK after -h, exitUsage after a bad command line.
func parseCommandLine(fs *flag.FlagSet, args []string, minArgs, maxArgs int) ([]string, int, bool) {
	positional, err := parseArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil, exitOK, false
	}
	if err != nil {
		return nil, exitUsage, false
	}
	if maxArgs == 0 && len(positional) > 0 {
		fmt.Fprintf(fs.Output(), "rawload %s takes no arguments (given %q)\n", fs.Name(), positional)
		fs.Usage()
		return nil, exitUsage, false
	}
	if len(positional) < minArgs || (maxArgs >= 0 && len(positional) > maxArgs) {
		fmt.Fprintf(fs.Output(), "rawload %s: %d arguments given\n", fs.Name(), len(positional))
		fs.Usage()
		return nil, exitUsage, false
	}
	return positional, exitOK, true
}

// stringList is a flag that may be given many times.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}
