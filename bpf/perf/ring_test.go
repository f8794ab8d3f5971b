package perf

import (
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"github.com/rawload/rawload/syscall"
)

// fakeRing is a perf ring in ordinary memory, laid out as the kernel maps
// one: a metadata page, then the data area.
type fakeRing struct {
	mem  []byte
	ring *cpuRing
	head uint64
}

func newFakeRing(t *testing.T, dataPages int, start uint64) *fakeRing {
	t.Helper()
	page := os.Getpagesize()
	f := &fakeRing{mem: make([]byte, (1+dataPages)*page), head: start}
	f.ring = newRing(3, -1, f.mem)
	f.ring.tail, f.ring.meta.Data_tail, f.ring.meta.Data_head = start, start, start
	return f
}

// put appends a record as the kernel writes one, wrapping at the end.
func (f *fakeRing) put(typ uint32, body []byte) {
	rec := binary.NativeEndian.AppendUint32(nil, typ)
	rec = binary.NativeEndian.AppendUint16(rec, 0)
	rec = binary.NativeEndian.AppendUint16(rec, uint16(headerSize+len(body)))
	rec = append(rec, body...)
	for i, b := range rec {
		f.ring.data[(f.head+uint64(i))&f.ring.mask] = b
	}
	f.head += uint64(len(rec))
	f.ring.meta.Data_head = f.head
}

// sample is a PERF_SAMPLE_RAW body padded as the kernel pads it.
func sample(data string) []byte {
	b := binary.NativeEndian.AppendUint32(nil, 0)
	b = append(b, data...)
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	binary.NativeEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

func lost(n uint64) []byte {
	b := binary.NativeEndian.AppendUint64(nil, 42) // id
	return binary.NativeEndian.AppendUint64(b, n)
}

func TestRingRecords(t *testing.T) {
	page := uint64(os.Getpagesize())
	// Start 32 bytes before the end: the second sample's data wraps.
	f := newFakeRing(t, 1, 5*page-32)
	f.put(syscall.PerfRecordSample, sample("abcd"))                   // 16 bytes
	f.put(syscall.PerfRecordSample, sample("0123456789abcdefghijkl")) // 40 bytes, split
	f.put(syscall.PerfRecordLost, lost(7))
	f.put(14, make([]byte, 8)) // PERF_RECORD_THROTTLE: skipped
	f.put(syscall.PerfRecordSample, sample("z"))

	if !f.ring.loadHead() {
		t.Fatal("loadHead saw no records")
	}
	var rec Record
	want := []struct {
		raw  string
		lost uint64
	}{
		{"abcd", 0},
		{"0123456789abcdefghijkl\x00\x00\x00\x00\x00\x00", 0}, // padding is part of the sample
		{"", 7},
		{"z\x00\x00\x00", 0},
	}
	for i, w := range want {
		ok, err := f.ring.next(&rec)
		if !ok || err != nil {
			t.Fatalf("record %d: %v, %v", i, ok, err)
		}
		if string(rec.RawSample) != w.raw || rec.LostSamples != w.lost || rec.CPU != 3 {
			t.Errorf("record %d: CPU %d %q lost %d, want CPU 3 %q lost %d", i, rec.CPU, rec.RawSample, rec.LostSamples, w.raw, w.lost)
		}
	}
	if rec.Remaining != 0 {
		t.Errorf("Remaining %d after the last record", rec.Remaining)
	}
	if ok, err := f.ring.next(&rec); ok || err != nil {
		t.Fatalf("read past head: %v, %v", ok, err)
	}
	if f.ring.meta.Data_tail != f.head {
		t.Errorf("data_tail %d, want head %d: space not given back", f.ring.meta.Data_tail, f.head)
	}
}

func TestRingCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name string
		typ  uint32
		body []byte
		head uint64 // 0: as written
	}{
		{"sample longer than its record", syscall.PerfRecordSample, binary.NativeEndian.AppendUint32(make([]byte, 0, 8), 100), 0},
		{"record past head", syscall.PerfRecordSample, sample("abcd"), 8},
		{"short lost record", syscall.PerfRecordLost, make([]byte, 8), 0},
		{"head a ring ahead", syscall.PerfRecordSample, sample("abcd"), 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeRing(t, 1, 0)
			f.put(tc.typ, tc.body)
			if tc.head != 0 {
				f.ring.meta.Data_head = tc.head
			}
			f.ring.loadHead()
			var rec Record
			if _, err := f.ring.next(&rec); !errors.Is(err, errCorrupt) {
				t.Errorf("error %v, want errCorrupt", err)
			}
		})
	}
}

func TestRingMmapSize(t *testing.T) {
	page := os.Getpagesize()
	for _, tc := range []struct{ buffer, pages int }{
		{1, 1}, {page, 1}, {page + 1, 2}, {3 * page, 4}, {8 * page, 8},
	} {
		if got := ringMmapSize(tc.buffer); got != (1+tc.pages)*page {
			t.Errorf("ringMmapSize(%d) = %d, want %d pages and the metadata page", tc.buffer, got, tc.pages)
		}
	}
}
