package perf

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/bpf"
	"github.com/rawload/rawload/internal/testutil"
	"github.com/rawload/rawload/syscall"
)

// 1000 getppid calls in batches of 50, each batch bound to the next
// online CPU: the reader sees every record once, each from the ring of
// the CPU the program ran on, in order within each CPU.
func TestReadAllCPUs(t *testing.T) {
	const n, batch = 1000, 50
	obj := loadEvents(t, 5) // the perf array gets the discarded ones too
	rd := newReader(t, obj, 8*os.Getpagesize(), ReaderOptions{})
	cpus := rd.CPUs()
	if len(cpus) == 0 {
		t.Fatal("no CPU")
	}

	done := make(chan error, 1)
	go func() {
		for b := range n / batch {
			if err := bindAndEmit(cpus[b%len(cpus)], batch); err != nil {
				done <- err
				return
			}
			time.Sleep(time.Millisecond)
		}
		done <- nil
	}()
	rd.SetDeadline(time.Now().Add(30 * time.Second))
	pid := uint32(os.Getpid())
	seen := make(map[uint64]bool)
	last := make(map[int]uint64)
	var rec Record
	for len(seen) < n {
		if err := rd.ReadInto(&rec); err != nil {
			t.Fatalf("after %d records: %v", len(seen), err)
		}
		ev := parseSample(t, rec)
		switch {
		case ev.TGID != pid || ev.Seq < 1 || ev.Seq > n:
			t.Fatalf("record %+v, want one of tgid %d numbered 1..%d", ev, pid, n)
		case seen[ev.Seq]:
			t.Fatalf("seq %d read twice", ev.Seq)
		case int(ev.CPU) != rec.CPU:
			t.Fatalf("seq %d written on CPU %d, read from CPU %d's ring", ev.Seq, ev.CPU, rec.CPU)
		case ev.Seq <= last[rec.CPU]:
			t.Fatalf("CPU %d: seq %d after %d", rec.CPU, ev.Seq, last[rec.CPU])
		}
		seen[ev.Seq] = true
		last[rec.CPU] = ev.Seq
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(last) != len(cpus) {
		t.Errorf("records from CPUs %v, want every one of %v", last, cpus)
	}
	if drops := readVarU64(t, obj, "perf_drops"); drops != 0 {
		t.Errorf("the kernel refused %d records", drops)
	}
	rd.SetDeadline(time.Now())
	if rec, err := rd.Read(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("after the last record: %+v, %v; want the deadline", rec, err)
	}
}

// A one-page ring holds 128 records of 32 bytes; a burst of 1000 on one CPU
// with no one reading loses the rest. The kernel reports the loss in a
// PERF_RECORD_LOST before the next record that fits, and the count it
// reports is what bpf_perf_event_output refused.
func TestLostSamples(t *testing.T) {
	const burst = 1000
	obj := loadEvents(t, 0)
	rd := newReader(t, obj, 1, ReaderOptions{})
	if rd.BufferSize() != os.Getpagesize() {
		t.Errorf("BufferSize %d, want one page", rd.BufferSize())
	}
	cpu := rd.CPUs()[0]
	emitOn(t, cpu, burst)

	var samples, lost uint64
	var last uint64
	count := func(rec Record) {
		if rec.CPU != cpu {
			t.Fatalf("record from CPU %d, all were written on %d", rec.CPU, cpu)
		}
		if rec.LostSamples > 0 {
			lost += rec.LostSamples
			return
		}
		ev := parseSample(t, rec)
		if ev.Seq <= last {
			t.Fatalf("seq %d after %d", ev.Seq, last)
		}
		last = ev.Seq
		samples++
	}
	rd.SetDeadline(time.Now()) // drain, without waiting
	for {
		rec, err := rd.Read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		count(rec)
	}
	if samples == 0 || samples >= burst {
		t.Fatalf("%d of %d records fit in one page", samples, burst)
	}
	// The loss is reported with the next record that fits.
	emitOn(t, cpu, 1)
	rd.SetDeadline(time.Now().Add(10 * time.Second))
	for last != burst+1 {
		rec, err := rd.Read()
		if err != nil {
			t.Fatalf("waiting for record %d: %v", burst+1, err)
		}
		count(rec)
	}
	refused := readVarU64(t, obj, "perf_drops")
	t.Logf("%d records read, %d reported lost, %d refused to the program", samples, lost, refused)
	if lost == 0 || samples+lost != burst+1 || lost != refused {
		t.Errorf("%d read + %d lost, want %d in all, and lost = the %d the program was refused",
			samples, lost, burst+1, refused)
	}
}

// Below the watermark the kernel does not wake the reader: a blocked
// Read returns what is there only at its deadline. Past it, it wakes.
func TestWatermark(t *testing.T) {
	page := os.Getpagesize()
	obj := loadEvents(t, 0)
	rd := newReader(t, obj, 2*page, ReaderOptions{Watermark: page})
	cpu := rd.CPUs()[0]

	deadline := time.Now().Add(300 * time.Millisecond)
	rd.SetDeadline(deadline)
	got := make(chan Record, 1)
	errc := make(chan error, 1)
	read := func() {
		rec, err := rd.Read()
		if err != nil {
			errc <- err
			return
		}
		got <- rec
	}
	go read()
	time.Sleep(50 * time.Millisecond)
	emitOn(t, cpu, 10) // 320 bytes
	select {
	case rec := <-got:
		if time.Now().Before(deadline) {
			t.Errorf("woken before the deadline by %d bytes, below the %d-byte watermark", 10*32, page)
		}
		if ev := parseSample(t, rec); ev.Seq != 1 {
			t.Errorf("seq %d, want 1", ev.Seq)
		}
	case err := <-errc:
		t.Fatalf("Read: %v; want the first record at the deadline", err)
	}
	rd.SetDeadline(time.Now())
	for {
		if _, err := rd.Read(); err != nil {
			break
		}
	}

	rd.SetDeadline(time.Now().Add(30 * time.Second))
	go read()
	time.Sleep(50 * time.Millisecond)
	emitOn(t, cpu, 200) // 6400 bytes
	select {
	case rec := <-got:
		if ev := parseSample(t, rec); ev.Seq != 11 {
			t.Errorf("seq %d, want 11", ev.Seq)
		}
	case err := <-errc:
		t.Fatalf("Read past the watermark: %v", err)
	}
}

func TestDeadline(t *testing.T) {
	obj := loadEvents(t, 0)
	rd := newReader(t, obj, os.Getpagesize(), ReaderOptions{})

	deadline := time.Now().Add(20 * time.Millisecond)
	rd.SetDeadline(deadline)
	if _, err := rd.Read(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read of empty rings: %v, want os.ErrDeadlineExceeded", err)
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
	emitOn(t, rd.CPUs()[0], 1)
	rec, err := rd.Read()
	if err != nil {
		t.Fatalf("record present at an expired deadline: %v", err)
	}
	if ev := parseSample(t, rec); ev.Seq != 1 {
		t.Errorf("seq %d, want 1", ev.Seq)
	}
}

// Close wakes a blocked Read and takes the events out of the map: the
// program is refused from then on.
func TestCloseUnblocksRead(t *testing.T) {
	obj := loadEvents(t, 0)
	rd, err := NewReader(obj.Map("events_perf"), os.Getpagesize())
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

	emit(3, 0, 0)
	if drops := readVarU64(t, obj, "perf_drops"); drops != 3 {
		t.Errorf("program refused %d of 3 records after Close, want all", drops)
	}
}

// ReadInto with a buffer large enough allocates nothing per record.
func TestReadIntoAllocs(t *testing.T) {
	const runs = 50
	obj := loadEvents(t, 0)
	rd := newReader(t, obj, 4*os.Getpagesize(), ReaderOptions{})
	emitOn(t, rd.CPUs()[0], runs+1) // AllocsPerRun reads once more to warm up
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
	if ev := parseSample(t, rec); ev.Seq != runs+1 {
		t.Errorf("last record seq %d, want %d", ev.Seq, runs+1)
	}
	if allocs != 0 {
		t.Errorf("%.1f allocations per ReadInto, want 0", allocs)
	}
}

// A possible CPU that is offline has no event: the reader skips it, and
// what the program writes there is refused rather than read.
func TestOfflineCPUSkipped(t *testing.T) {
	obj := loadEvents(t, 0)
	cpus, err := bpf.PossibleCPUs()
	if err != nil {
		t.Fatal(err)
	}
	if cpus < 2 {
		t.Skip("one possible CPU")
	}
	offline := cpus - 1
	open := perfEventOpen
	perfEventOpen = func(attr *syscall.PerfEventAttr, pid, cpu, groupFD int, flags uint) (int, error) {
		if cpu == offline {
			return -1, unix.ENODEV // what the kernel says for an offline CPU
		}
		return open(attr, pid, cpu, groupFD, flags)
	}
	t.Cleanup(func() { perfEventOpen = open })
	rd := newReader(t, obj, os.Getpagesize(), ReaderOptions{})
	if got := rd.CPUs(); slices.Contains(got, offline) || len(got) != cpus-1 {
		t.Fatalf("rings for CPUs %v, want all %d but %d", got, cpus, offline)
	}

	emitOn(t, offline, 4)
	emitOn(t, 0, 1)
	rd.SetDeadline(time.Now().Add(10 * time.Second))
	rec, err := rd.Read()
	if err != nil {
		t.Fatal(err)
	}
	if ev := parseSample(t, rec); ev.Seq != 5 || rec.CPU != 0 {
		t.Errorf("seq %d from CPU %d, want 5 from CPU 0", ev.Seq, rec.CPU)
	}
	if drops := readVarU64(t, obj, "perf_drops"); drops != 4 {
		t.Errorf("%d records refused on the skipped CPU, want 4", drops)
	}
}

// A failure midway releases what was made: fds, mappings, and nothing is
// left in the map.
func TestNewReaderFailsCleanly(t *testing.T) {
	obj := loadEvents(t, 0)
	open := perfEventOpen
	calls := 0
	perfEventOpen = func(attr *syscall.PerfEventAttr, pid, cpu, groupFD int, flags uint) (int, error) {
		if calls++; calls > 1 {
			return -1, unix.EMFILE
		}
		return open(attr, pid, cpu, groupFD, flags)
	}
	t.Cleanup(func() { perfEventOpen = open })
	cpus, err := bpf.PossibleCPUs()
	if err != nil {
		t.Fatal(err)
	}
	if cpus < 2 {
		t.Skip("one possible CPU")
	}
	before := testutil.OpenFDs(t)
	if _, err := NewReader(obj.Map("events_perf"), os.Getpagesize()); !errors.Is(err, unix.EMFILE) {
		t.Fatalf("NewReader with perf_event_open failing on the second CPU: %v, want EMFILE", err)
	}
	if after := testutil.OpenFDs(t); after != before {
		t.Errorf("%d fds after a failed NewReader, %d before", after, before)
	}
	emitOn(t, 0, 1)
	if drops := readVarU64(t, obj, "perf_drops"); drops != 1 {
		t.Errorf("the program wrote to a CPU 0 event a failed NewReader left behind")
	}
}

func TestNewReaderRefuses(t *testing.T) {
	obj := loadEvents(t, 0)
	page := os.Getpagesize()
	for _, tc := range []struct {
		name   string
		m      *bpf.Map
		buffer int
		opts   ReaderOptions
	}{
		{"ring buffer map", obj.Map("events_rb"), page, ReaderOptions{}},
		{"no buffer", obj.Map("events_perf"), 0, ReaderOptions{}},
		{"watermark of the whole buffer", obj.Map("events_perf"), page, ReaderOptions{Watermark: page}},
		{"watermark and wakeup events", obj.Map("events_perf"), page, ReaderOptions{Watermark: 8, WakeupEvents: 1}},
	} {
		if rd, err := NewReaderWithOptions(tc.m, tc.buffer, tc.opts); err == nil {
			rd.Close()
			t.Errorf("%s: accepted", tc.name)
		}
	}
	other, err := bpf.Open(eventsObject, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := NewReader(other.Map("events_perf"), page); !errors.Is(err, bpf.ErrMapNotLive) {
		t.Errorf("NewReader before Load: %v, want ErrMapNotLive", err)
	}
}

// BenchmarkRead emits b.N records from a goroutine bound to the last CPU,
// as fast as getppid goes, reads them from another goroutine, and reports
// the samples read per second and the share lost, with 8 and 256 pages
// per CPU.
func BenchmarkRead(b *testing.B) {
	for _, pages := range []int{8, 256} {
		b.Run(fmt.Sprintf("pages=%d", pages), func(b *testing.B) {
			obj := loadEvents(b, 0)
			rd := newReader(b, obj, pages*os.Getpagesize(), ReaderOptions{})
			cpus := rd.CPUs()
			b.ResetTimer()
			start := time.Now()
			go func() {
				bindAndEmit(cpus[len(cpus)-1], b.N)
				rd.SetDeadline(time.Now()) // drain, then stop
			}()
			var rec Record
			var samples, reported uint64
			for rd.ReadInto(&rec) == nil {
				if rec.LostSamples > 0 {
					reported += rec.LostSamples
				} else {
					samples++
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			// A loss is reported only before the next record that fits;
			// the program's count has them all.
			lost := readVarU64(b, obj, "perf_drops")
			if samples+lost != uint64(b.N) || reported > lost {
				b.Errorf("%d read + %d lost (%d reported), %d emitted", samples, lost, reported, b.N)
			}
			b.ReportMetric(float64(samples)/elapsed.Seconds(), "records/s")
			b.ReportMetric(100*float64(lost)/float64(b.N), "%lost")
		})
	}
}
