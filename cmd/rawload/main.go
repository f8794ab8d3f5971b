// Command rawload inspects, loads and verifies eBPF object files with the
// rawload library, and demonstrates dynamic program loading.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes: a command that ran but saw a program fail exits 1, a command
// line that makes no sense exits 2, as flag does.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// command runs one subcommand with its arguments and returns the exit code.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

var commands = []command{
	{"inspect", "inspect [--json] OBJ: programs, maps and globals of an object, no kernel needed", runInspect},
	{"load", "load [--json] [--prog NAME]... [--parallel N] [--pin DIR] [--max-entries NAME=N]... [--log[=full]] OBJ: load and report each program", runLoad},
	{"verify", "verify [--json] [--parallel N] [--pin DIR] [--max-entries NAME=N]... [--log[=full]] OBJ...: verdict of every program of many objects", runVerify},
	{"run", "run [--prog NAME]... [--iface NAME] [--cgroup PATH] [--pid PID] [--max-entries NAME=N]... [--pin DIR] [--json] OBJ: load, attach by section name, hold until SIGINT/SIGTERM", runRun},
	{"serve", "serve --socket PATH [--features FILE] [--enable NAME]... [--iface NAME] [--cgroup PATH] [--pid PID] [--pin DIR] [--max-entries NAME=N]... OBJ...: enable and disable feature sets live through a control socket", runServe},
	{"ctl", "ctl --socket PATH status [--json] | enable NAME... | disable NAME... | reload PROGRAM... | resize MAP N | stop: drive a rawload serve", runCtl},
	{"bench", "bench [--json] [-n RUNS] [--parallel N] [--max-entries NAME=N]... OBJ: time breakdown of loading an object", runBench},
	{"demo", "demo: the dynamic-load scenario on an embedded object", runDemoCommand},
	{"gen", "gen " + genSynopsis + ": typed Go bindings with the object embedded", runGen},
	{"version", "version: module version and VCS revision", runVersion},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to the subcommand named by args[0].
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "rawload: unknown command %q\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: rawload COMMAND [flags] [args]")
	fmt.Fprintln(w)
	for _, c := range commands {
		fmt.Fprintf(w, "  rawload %s\n", c.summary)
	}
}
