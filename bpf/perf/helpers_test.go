package perf

import (
	"fmt"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/bpf"
	"github.com/rawload/rawload/bpf/internal/eventtest"
)

func TestMain(m *testing.M) {
	// The runtime makes its poller's fds with the first file it polls;
	// make them now, not inside a test that counts fds.
	if r, w, err := os.Pipe(); err == nil {
		r.Close()
		w.Close()
	}
	os.Exit(m.Run())
}

// The events object and its helpers, shared with the other reader.
type event = eventtest.Event

const (
	eventsObject = eventtest.Object
	eventSize    = eventtest.EventSize
)

var (
	parseEvent = eventtest.ParseEvent
	loadEvents = eventtest.LoadEvents
	setVar     = eventtest.SetVar
	readVarU64 = eventtest.ReadVarU64
	emit       = eventtest.Emit
)

// emitOn makes n getppid calls from a thread bound to cpu, so the
// program writes all n records to that CPU's ring.
func emitOn(t testing.TB, cpu, n int) {
	t.Helper()
	if err := bindAndEmit(cpu, n); err != nil {
		t.Fatal(err)
	}
}

// bindAndEmit is emitOn for goroutines other than the test's.
func bindAndEmit(cpu, n int) error {
	done := make(chan error)
	go func() {
		// Never unlocked: the thread ends with the goroutine, and its
		// affinity with it.
		runtime.LockOSThread()
		var set unix.CPUSet
		set.Set(cpu)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			done <- fmt.Errorf("binding to CPU %d: %w", cpu, err)
			return
		}
		emit(n, 0, 0)
		done <- nil
	}()
	return <-done
}

func newReader(t testing.TB, obj *bpf.Object, perCPUBuffer int, opts ReaderOptions) *Reader {
	t.Helper()
	rd, err := NewReaderWithOptions(obj.Map("events_perf"), perCPUBuffer, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rd.Close() })
	return rd
}

// parseSample reads the event at the front of a perf sample, which the
// kernel pads from 16 to 20 bytes.
func parseSample(t testing.TB, rec Record) event {
	t.Helper()
	if rec.LostSamples != 0 {
		t.Fatalf("lost-samples record (%d) where a sample was expected", rec.LostSamples)
	}
	if len(rec.RawSample) != 20 {
		t.Fatalf("sample of %d bytes, want 16 padded to 20: %x", len(rec.RawSample), rec.RawSample)
	}
	return parseEvent(t, rec.RawSample[:eventSize])
}
