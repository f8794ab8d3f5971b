package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/bpf"
)

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		positional []string
		json       bool
		progs      []string
		parallel   int
	}{
		{args: []string{"a.o"}, positional: []string{"a.o"}},
		{args: []string{"--json", "a.o", "b.o"}, positional: []string{"a.o", "b.o"}, json: true},
		{args: []string{"a.o", "--json", "b.o"}, positional: []string{"a.o", "b.o"}, json: true},
		{args: []string{"a.o", "--prog", "x"}, positional: []string{"a.o"}, progs: []string{"x"}},
		{args: []string{"--prog=x", "a.o", "-prog", "y", "--parallel", "3"}, positional: []string{"a.o"}, progs: []string{"x", "y"}, parallel: 3},
		{args: []string{"a.o", "--", "--json"}, positional: []string{"a.o", "--json"}},
		{args: []string{"--", "-weird.o"}, positional: []string{"-weird.o"}},
		{args: nil, positional: nil},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			asJSON := fs.Bool("json", false, "")
			var progs stringList
			fs.Var(&progs, "prog", "")
			parallel := fs.Int("parallel", 0, "")
			positional, err := parseArgs(fs, tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(positional, tc.positional) {
				t.Errorf("positional %q, want %q", positional, tc.positional)
			}
			if *asJSON != tc.json {
				t.Errorf("json %t, want %t", *asJSON, tc.json)
			}
			if !slices.Equal(progs, tc.progs) {
				t.Errorf("prog %q, want %q", progs, tc.progs)
			}
			if *parallel != tc.parallel {
				t.Errorf("parallel %d, want %d", *parallel, tc.parallel)
			}
		})
	}
}

func TestParseArgsUnknownFlag(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, err := parseArgs(fs, []string{"a.o", "--nope"}); err == nil {
		t.Fatal("an unknown flag after a positional argument was accepted")
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"frobnicate"},
		{"inspect"},
		{"inspect", "a.o", "b.o"},
		{"inspect", "--bogus", "a.o"},
		{"load"},
		{"load", "a.o", "b.o"},
		{"load", "--parallel", "many", "a.o"},
		{"verify"},
		{"demo", "extra"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			stdout, stderr, code := rawload(t, args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if stdout != "" {
				t.Errorf("usage error wrote to stdout:\n%s", stdout)
			}
			if !strings.Contains(stderr, "usage: rawload") {
				t.Errorf("stderr has no usage line:\n%s", stderr)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}} {
		stdout, _, code := rawload(t, args...)
		if code != exitOK {
			t.Errorf("%q: exit %d, want 0", args, code)
		}
		for _, c := range commands {
			if !strings.Contains(stdout, "rawload "+c.name) {
				t.Errorf("%q: usage does not list %s:\n%s", args, c.name, stdout)
			}
		}
	}
	if _, stderr, code := rawload(t, "verify", "-h"); code != exitOK || !strings.Contains(stderr, "-parallel") {
		t.Errorf("verify -h: exit %d, stderr:\n%s", code, stderr)
	}
}

func TestErrorSummary(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{errors.New("first line\nsecond line"), "first line"},
		{
			fmt.Errorf("wrapped: %w", &bpf.VerifierError{Program: "p", Errno: unix.EACCES, Log: "0: (b7) r0 = 0\nR0 !read_ok\nprocessed 1 insns (limit 1000000)\n"}),
			"program p: load: permission denied: R0 !read_ok",
		},
		{&bpf.VerifierError{Program: "p", Errno: 524}, "program p: load: ENOTSUPP (errno 524): not supported by the kernel"},
	} {
		if got := errorSummary(tc.err); got != tc.want {
			t.Errorf("errorSummary(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
