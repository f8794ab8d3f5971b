package ringbuf

import (
	"os"
	"testing"

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

func newReader(t testing.TB, obj *bpf.Object) *Reader {
	t.Helper()
	rd, err := NewReader(obj.Map("events_rb"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rd.Close() })
	return rd
}
