package main

import (
	"strings"
	"testing"
)

func TestBenchJSON(t *testing.T) {
	requireKernel(t)
	var runs []benchRun
	rawloadJSON(t, &runs, "bench", "--json", "-n", "2", "--parallel", "2", testdata("loader.o"))
	if len(runs) != 2 {
		t.Fatalf("%d runs, want 2", len(runs))
	}
	for i, r := range runs {
		// loader.o: 4 programs over 10 maps, of which the programs use 9.
		if r.Programs != 4 || r.Maps < 9 {
			t.Errorf("run %d: %d programs and %d maps loaded, want 4 and at least 9", i, r.Programs, r.Maps)
		}
		if r.ProgLoad <= 0 || r.MapCreate <= 0 || r.ObjectBTF <= 0 || r.Parse <= 0 || r.Relocate <= 0 {
			t.Errorf("run %d: a phase took no time: %+v", i, r)
		}
		if r.Total < r.LoadWall+r.Parse {
			t.Errorf("run %d: total %v less than its parts: %+v", i, r.Total, r)
		}
	}
}

func TestBenchText(t *testing.T) {
	requireKernel(t)
	stdout, stderr, code := rawload(t, "bench", "-n", "1", testdata("legacy.o"))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"1 runs, 1 programs, 2 maps", "parse", "relocate", "map creation", "program loads (kernel, summed)", "Object.Load (wall)", "EAGAIN restarts: 0"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	// Programs that fail are reported and left out; the others are timed.
	stdout, _, code = rawload(t, "bench", "-n", "1", testdata("invalid.o"))
	if code != exitOK || !strings.Contains(stdout, "left out of the timings") || !strings.Contains(stdout, "program bad_prog: load:") {
		t.Errorf("bench of an object with a failing program: exit %d:\n%s", code, stdout)
	}
	if strings.Count(stdout, "bad_prog") != 1 {
		t.Errorf("bad_prog named more than once:\n%s", stdout)
	}
}
