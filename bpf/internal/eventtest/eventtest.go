// Package eventtest is what the tests of the event readers (bpf/ringbuf,
// bpf/perf) share: testdata/events.o loaded and attached, its events
// decoded, and getppid calls that make it emit them.
package eventtest

import (
	"context"
	"encoding/binary"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/bpf"
	"github.com/rawload/rawload/internal/testutil"
)

// Object is testdata/events.o, as seen from the readers' package
// directories, where their tests run.
const Object = "../../testdata/events.o"

// Event is testdata/events.c's struct event.
type Event struct {
	Seq       uint64
	TGID, CPU uint32
}

// EventSize is the size of struct event.
const EventSize = 16

// ParseEvent decodes one event, failing tb on a sample of another size.
func ParseEvent(tb testing.TB, sample []byte) Event {
	tb.Helper()
	if len(sample) != EventSize {
		tb.Fatalf("sample of %d bytes, want %d: %x", len(sample), EventSize, sample)
	}
	return Event{
		Seq:  binary.NativeEndian.Uint64(sample),
		TGID: binary.NativeEndian.Uint32(sample[8:]),
		CPU:  binary.NativeEndian.Uint32(sample[12:]),
	}
}

// LoadEvents loads testdata/events.o to emit one record per getppid of
// this process, every discardEvery-th discarded in the ring buffer (0:
// none), and attaches it; configure, if any, runs before the load. It
// checks that the test leaves the fd table as it found it.
func LoadEvents(tb testing.TB, discardEvery uint64, configure ...func(*bpf.Object) error) *bpf.Object {
	tb.Helper()
	testutil.KernelTest(tb)
	obj, err := bpf.Open(Object, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { obj.Close() })
	SetVar(tb, obj, "target_pid", binary.NativeEndian.AppendUint32(nil, uint32(os.Getpid())))
	SetVar(tb, obj, "target_syscall", binary.NativeEndian.AppendUint64(nil, unix.SYS_GETPPID))
	SetVar(tb, obj, "discard_every", binary.NativeEndian.AppendUint64(nil, discardEvery))
	for _, f := range configure {
		if err := f(obj); err != nil {
			tb.Fatal(err)
		}
	}
	if err := obj.Load(context.Background()); err != nil {
		tb.Fatal(err)
	}
	link, err := obj.Program("emit_event").Attach()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { link.Close() })
	return obj
}

// SetVar writes a global of obj.
func SetVar(tb testing.TB, obj *bpf.Object, name string, value []byte) {
	tb.Helper()
	v, err := obj.Variable(name)
	if err != nil {
		tb.Fatal(err)
	}
	if err := v.Write(value); err != nil {
		tb.Fatal(err)
	}
}

// ReadVarU64 reads a 64-bit global of obj.
func ReadVarU64(tb testing.TB, obj *bpf.Object, name string) uint64 {
	tb.Helper()
	v, err := obj.Variable(name)
	if err != nil {
		tb.Fatal(err)
	}
	buf := make([]byte, 8)
	if err := v.Read(buf); err != nil {
		tb.Fatal(err)
	}
	return binary.NativeEndian.Uint64(buf)
}

// Emit makes n getppid calls, so the program emits n records, pausing
// after every batch of them to keep the rate modest.
func Emit(n, batch int, pause time.Duration) {
	for i := 1; i <= n; i++ {
		unix.Getppid()
		if batch > 0 && i%batch == 0 {
			time.Sleep(pause)
		}
	}
}
