package ringbuf

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/rawload/rawload/bpf"
)

// Every getppid gives one record; every fifth is discarded by the
// program. The reader sees each of the others, once, in order, while the
// program keeps writing around the 16 KiB ring (1000 records of 24 bytes
// wrap it).
func TestReadInOrder(t *testing.T) {
	const n, discardEvery = 1000, 5
	obj := loadEvents(t, discardEvery)
	rd := newReader(t, obj)
	if rd.BufferSize() != 16*1024 {
		t.Errorf("BufferSize %d, want the map's 16384", rd.BufferSize())
	}

	done := make(chan struct{})
	go func() {
		defer close(done)
		emit(n, 50, time.Millisecond)
	}()
	rd.SetDeadline(time.Now().Add(30 * time.Second))
	pid := uint32(os.Getpid())
	var rec Record
	for want := uint64(1); want <= n; want++ {
		if want%discardEvery == 0 {
			continue
		}
		if err := rd.ReadInto(&rec); err != nil {
			t.Fatalf("waiting for record %d: %v", want, err)
		}
		ev := parseEvent(t, rec.RawSample)
		if ev.Seq != want || ev.TGID != pid {
			t.Fatalf("record %+v, want seq %d of tgid %d", ev, want, pid)
		}
		if rec.Remaining < 0 || rec.Remaining%8 != 0 {
			t.Fatalf("Remaining %d", rec.Remaining)
		}
	}
	<-done
	if got := readVarU64(t, obj, "seq"); got != n {
		t.Errorf("program numbered %d calls, want %d", got, n)
	}
	if drops := readVarU64(t, obj, "rb_drops"); drops != 0 {
		t.Errorf("the kernel refused %d records", drops)
	}
	// Nothing more: the last discarded record was skipped too.
	rd.SetDeadline(time.Now())
	if rec, err := rd.Read(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("after the last record: %x, %v; want the deadline", rec.RawSample, err)
	}
}

// The reader holds the map: records written before the Object closed are
// read after it.
func TestReaderOutlivesObject(t *testing.T) {
	obj := loadEvents(t, 5)
	rd := newReader(t, obj)
	emit(10, 0, 0)
	if err := obj.Close(); err != nil {
		t.Fatal(err)
	}
	rd.SetDeadline(time.Now().Add(10 * time.Second))
	for _, want := range []uint64{1, 2, 3, 4, 6, 7, 8, 9} {
		rec, err := rd.Read()
		if err != nil {
			t.Fatalf("record %d after Object.Close: %v", want, err)
		}
		if ev := parseEvent(t, rec.RawSample); ev.Seq != want {
			t.Fatalf("seq %d, want %d", ev.Seq, want)
		}
	}
	if _, err := NewReader(obj.Map("events_rb")); !errors.Is(err, bpf.ErrClosed) {
		t.Errorf("NewReader of a closed Object's map: %v, want bpf.ErrClosed", err)
	}
}

func TestDeadline(t *testing.T) {
	obj := loadEvents(t, 0)
	rd := newReader(t, obj)

	deadline := time.Now().Add(20 * time.Millisecond)
	rd.SetDeadline(deadline)
	if _, err := rd.Read(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read of an empty ring: %v, want os.ErrDeadlineExceeded", err)
	}
	if time.Now().Before(deadline) {
		t.Error("Read returned before its deadline")
	}

	// A deadline set while Read is blocked applies to it.
	rd.SetDeadline(time.Time{})
	errc := make(chan error, 1)
	go func() {
		_, err := rd.Read()
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	rd.SetDeadline(time.Now())
	select {
	case err := <-errc:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("blocked Read after SetDeadline: %v, want os.ErrDeadlineExceeded", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SetDeadline did not reach a blocked Read")
	}

	// Past the deadline, records are still returned while there are any.
	emit(1, 0, 0)
	rec, err := rd.Read()
	if err != nil {
		t.Fatalf("record present at an expired deadline: %v", err)
	}
	if ev := parseEvent(t, rec.RawSample); ev.Seq != 1 {
		t.Errorf("seq %d, want 1", ev.Seq)
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	obj := loadEvents(t, 0)
	rd, err := NewReader(obj.Map("events_rb"))
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := rd.Read()
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := rd.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("blocked Read after Close: %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not unblock Read")
	}
	if _, err := rd.Read(); !errors.Is(err, ErrClosed) {
		t.Errorf("Read after Close: %v, want ErrClosed", err)
	}
	if err := rd.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	rd.SetDeadline(time.Now()) // reaches no fd
}

// ReadInto with a buffer large enough allocates nothing per record.
func TestReadIntoAllocs(t *testing.T) {
	const runs = 50
	obj := loadEvents(t, 0)
	rd := newReader(t, obj)
	emit(runs+1, 0, 0) // AllocsPerRun reads once more to warm up
	rd.SetDeadline(time.Now().Add(10 * time.Second))
	rec := Record{RawSample: make([]byte, 0, 64)}
	var failed error
	allocs := testing.AllocsPerRun(runs, func() {
		if err := rd.ReadInto(&rec); err != nil && failed == nil {
			failed = err
		}
	})
	if failed != nil {
		t.Fatal(failed)
	}
	if ev := parseEvent(t, rec.RawSample); ev.Seq != runs+1 {
		t.Errorf("last record seq %d, want %d", ev.Seq, runs+1)
	}
	if allocs != 0 {
		t.Errorf("%.1f allocations per ReadInto, want 0", allocs)
	}
}

func TestNewReaderRefuses(t *testing.T) {
	obj := loadEvents(t, 0)
	if _, err := NewReader(obj.Map("events_perf")); err == nil {
		t.Error("NewReader accepted a perf event array")
	}
	other, err := bpf.Open(eventsObject, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := NewReader(other.Map("events_rb")); !errors.Is(err, bpf.ErrMapNotLive) {
		t.Errorf("NewReader before Load: %v, want ErrMapNotLive", err)
	}
	m := obj.Map("events_rb")
	if err := obj.Program("emit_event").Unload(); err != nil {
		t.Fatal(err)
	}
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	if _, err := NewReader(m); !errors.Is(err, bpf.ErrMapNotLive) {
		t.Errorf("NewReader after Destroy: %v, want ErrMapNotLive", err)
	}
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	rd, err := NewReader(m)
	if err != nil {
		t.Fatalf("NewReader after re-Create: %v", err)
	}
	rd.Close()
}

// BenchmarkRead emits b.N records from one goroutine as fast as getppid
// goes and reads them from another, and reports the records read per
// second and the share the kernel dropped for want of room, with the
// object's 16 KiB ring and with a 4 MiB one.
func BenchmarkRead(b *testing.B) {
	for _, size := range []uint32{16 << 10, 4 << 20} {
		b.Run(fmt.Sprintf("ring=%dKiB", size>>10), func(b *testing.B) {
			obj := loadEvents(b, 0, func(obj *bpf.Object) error {
				return obj.Map("events_rb").SetMaxEntries(size)
			})
			rd := newReader(b, obj)
			b.ResetTimer()
			start := time.Now()
			go func() {
				emit(b.N, 0, 0)
				rd.SetDeadline(time.Now()) // drain, then stop
			}()
			var rec Record
			read := 0
			for rd.ReadInto(&rec) == nil {
				read++
			}
			elapsed := time.Since(start)
			b.StopTimer()
			drops := readVarU64(b, obj, "rb_drops")
			if uint64(read)+drops != uint64(b.N) {
				b.Errorf("%d read + %d dropped, %d emitted", read, drops, b.N)
			}
			b.ReportMetric(float64(read)/elapsed.Seconds(), "records/s")
			b.ReportMetric(100*float64(drops)/float64(b.N), "%dropped")
		})
	}
}
