// Command ciliumload is cilium/ebpf's side of the comparison
// (bench/cmd/compare): it opens, loads and closes an object with
// cilium/ebpf, -n times, printing each run's wall time in nanoseconds.
//
//	ciliumload [-n RUNS] [-p PROG]... [-1] OBJ
//
// -1 loads once and prints nothing: a fresh-process load.
package main

import (
	"os"

	"github.com/rawload/rawload/bench"
)

func main() {
	os.Exit(bench.Harness("ciliumload", os.Args[1:], os.Stdout, os.Stderr, bench.LoadCilium))
}
