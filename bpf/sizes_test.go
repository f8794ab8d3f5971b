package bpf

import (
	"context"
	"strings"
	"testing"

	"github.com/rawload/rawload/syscall"
)

// TestMapSizesAsToolsLeaveThem loads testdata/sizes.o: a perf event array
// without max_entries, one with the event struct as value type, a ring
// buffer of 5000 bytes and a hash whose size user space sets.
func TestMapSizesAsToolsLeaveThem(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	cpus, err := PossibleCPUs()
	must(t, err)

	obj := mustOpen(t, testdata("sizes.o"), nil)
	results, err := obj.LoadEach(context.Background())
	must(t, err)
	for _, r := range results {
		switch r.Program.Name() {
		case "count_conn":
			if r.Err == nil || !strings.Contains(r.Err.Error(), "--max-entries conns=N") {
				t.Errorf("count_conn with conns unsized: %v, want the error to say how to size it", r.Err)
			}
		case "sample_stack":
			if r.Err == nil || !strings.Contains(r.Err.Error(), "--value-size stacks=N") {
				t.Errorf("sample_stack with stacks of no depth: %v, want the error to say how to size it", r.Err)
			}
		default:
			if r.Err != nil {
				t.Errorf("%s: %v", r.Program.Name(), r.Err)
			}
		}
	}
	for name, want := range map[string]uint32{"events": uint32(cpus), "typed_events": uint32(cpus), "odd_ring": 8192} {
		info, err := syscall.MapInfoByFD(obj.Map(name).FD())
		must(t, err)
		if info.MaxEntries != want || (name == "typed_events" && info.ValueSize != 4) {
			t.Errorf("%s: %d entries of %d bytes, want %d entries", name, info.MaxEntries, info.ValueSize, want)
		}
	}
	if got := testRun(t, obj.Program("emit_ring")); got != 2 {
		t.Errorf("emit_ring returned %d, want 2: the ring buffer took the record", got)
	}

	sized := mustOpen(t, testdata("sizes.o"), nil)
	must(t, sized.Map("conns").SetMaxEntries(16))
	must(t, sized.Map("stacks").SetValueSize(127*8))
	must(t, sized.Load(context.Background()))
	info, err := syscall.MapInfoByFD(sized.Map("stacks").FD())
	must(t, err)
	if info.ValueSize != 127*8 {
		t.Errorf("stacks created with %d-byte values, want %d", info.ValueSize, 127*8)
	}
	for want := uint32(1); want <= 3; want++ {
		if got := testRun(t, sized.Program("count_conn")); got != want {
			t.Fatalf("count_conn run %d returned %d", want, got)
		}
	}
}
