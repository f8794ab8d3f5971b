// Command rawloadload is rawload's in-process side of the comparison
// (bench/cmd/compare), with the same command line as ciliumload and
// libbpf/loader: it opens, loads and closes an object with rawload, -n
// times, printing each run's wall time in nanoseconds. Fresh processes
// are timed with rawload's own CLI (`rawload load OBJ`) instead.
//
//	rawloadload [-n RUNS] [-p PROG]... [-1] OBJ
package main

import (
	"os"

	"github.com/rawload/rawload/bench"
)

func main() {
	os.Exit(bench.Harness("rawloadload", os.Args[1:], os.Stdout, os.Stderr, func(path string, progs []string) (int, error) {
		return bench.LoadRawload(path, progs, nil)
	}))
}
