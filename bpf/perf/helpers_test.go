package perf

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/bpf"
	"github.com/rawload/rawload/internal/testutil"
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

const eventsObject = "../../testdata/events.o"

// event is testdata/events.c's struct event.
type event struct {
	seq       uint64
	tgid, cpu uint32
}

const eventSize = 16

func parseEvent(t testing.TB, sample []byte) event {
	t.Helper()
	if len(sample) != eventSize {
		t.Fatalf("sample of %d bytes, want %d: %x", len(sample), eventSize, sample)
	}
	return event{
		seq:  binary.NativeEndian.Uint64(sample),
		tgid: binary.NativeEndian.Uint32(sample[8:]),
		cpu:  binary.NativeEndian.Uint32(sample[12:]),
	}
}

// loadEvents loads testdata/events.o to emit one record per getppid of
// this process, every discardEvery-th discarded in the ring buffer (0:
// none), and attaches it; configure, if any, runs before the load. It
// checks that the test leaves the fd table as it found it.
func loadEvents(t testing.TB, discardEvery uint64, configure ...func(*bpf.Object) error) *bpf.Object {
	t.Helper()
	testutil.KernelTest(t)
	obj, err := bpf.Open(eventsObject, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { obj.Close() })
	setVar(t, obj, "target_pid", binary.NativeEndian.AppendUint32(nil, uint32(os.Getpid())))
	setVar(t, obj, "target_syscall", binary.NativeEndian.AppendUint64(nil, unix.SYS_GETPPID))
	setVar(t, obj, "discard_every", binary.NativeEndian.AppendUint64(nil, discardEvery))
	for _, f := range configure {
		if err := f(obj); err != nil {
			t.Fatal(err)
		}
	}
	if err := obj.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	link, err := obj.Program("emit_event").Attach()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { link.Close() })
	return obj
}

func setVar(t testing.TB, obj *bpf.Object, name string, value []byte) {
	t.Helper()
	v, err := obj.Variable(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Write(value); err != nil {
		t.Fatal(err)
	}
}

func readVarU64(t testing.TB, obj *bpf.Object, name string) uint64 {
	t.Helper()
	v, err := obj.Variable(name)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	if err := v.Read(buf); err != nil {
		t.Fatal(err)
	}
	return binary.NativeEndian.Uint64(buf)
}

// emit makes n getppid calls, so the program emits n records, pausing
// after every batch of them to keep the rate modest.
func emit(n, batch int, pause time.Duration) {
	for i := 1; i <= n; i++ {
		unix.Getppid()
		if batch > 0 && i%batch == 0 {
			time.Sleep(pause)
		}
	}
}

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
