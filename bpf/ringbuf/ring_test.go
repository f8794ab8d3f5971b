package ringbuf

import (
	"encoding/binary"
	"errors"
	"os"
	"testing"
)

// fakeRing is a ring laid out as the kernel maps one, in ordinary memory:
// the data area's second copy is kept equal to the first by hand.
type fakeRing struct {
	cons, prod []byte
	page, size int
	ring       ring
}

func newFakeRing(size int) *fakeRing {
	page := os.Getpagesize()
	f := &fakeRing{
		cons: make([]byte, page),
		prod: make([]byte, page+2*size),
		page: page,
		size: size,
	}
	f.ring = newRing(f.cons, f.prod, page, size)
	return f
}

// put writes a record at position pos as the kernel would, header word
// included, and returns the position after it.
func (f *fakeRing) put(pos uint64, header uint32, sample []byte) uint64 {
	rec := binary.NativeEndian.AppendUint32(nil, header)
	rec = binary.NativeEndian.AppendUint32(rec, 0) // pg_off
	rec = append(rec, sample...)
	for len(rec)%8 != 0 {
		rec = append(rec, 0)
	}
	data := f.prod[f.page:]
	for i, b := range rec {
		off := (int(pos) + i) & (f.size - 1)
		data[off] = b
		data[off+f.size] = b
	}
	return pos + uint64(len(rec))
}

func (f *fakeRing) setPositions(cons, prod uint64) {
	binary.NativeEndian.PutUint64(f.cons, cons)
	binary.NativeEndian.PutUint64(f.prod, prod)
}

func (f *fakeRing) consumer() uint64 { return binary.NativeEndian.Uint64(f.cons) }

func TestRingRecords(t *testing.T) {
	f := newFakeRing(4096)
	// Start near the end so that the third record runs past it and is
	// read through the second mapping.
	start := uint64(3*4096 - 48)
	pos := f.put(start, 5, []byte("first"))              // 16 bytes
	pos = f.put(pos, 3|discardBit, []byte("xxx"))        // 16, skipped
	pos = f.put(pos, 20, []byte("wraps around the end")) // 32, crosses
	end := f.put(pos, 1|busyBit, []byte("b"))            // reserved, not submitted
	f.setPositions(start, end)

	var rec Record
	if res, err := f.ring.next(&rec); res != gotRecord || err != nil || string(rec.RawSample) != "first" {
		t.Fatalf("first: %v, %v, %q", res, err, rec.RawSample)
	}
	if want := int(end - (start + 16)); rec.Remaining != want {
		t.Errorf("Remaining %d, want %d", rec.Remaining, want)
	}
	buf := make([]byte, 0, 64)
	rec.RawSample = buf
	if res, err := f.ring.next(&rec); res != gotRecord || err != nil || string(rec.RawSample) != "wraps around the end" {
		t.Fatalf("after the discarded record: %v, %v, %q", res, err, rec.RawSample)
	}
	if &rec.RawSample[0] != &buf[:1][0] {
		t.Error("ReadInto's buffer was not reused though large enough")
	}
	if got, want := f.consumer(), pos; got != want {
		t.Errorf("consumer_pos %d after two records and a discard, want %d", got, want)
	}
	// The busy record holds the reader back without moving the consumer.
	if res, err := f.ring.next(&rec); res != recordBusy || err != nil {
		t.Fatalf("busy record: %v, %v", res, err)
	}
	if f.consumer() != pos {
		t.Errorf("consumer moved over a busy record")
	}
	// Submitted: the kernel clears the busy bit.
	f.put(pos, 1, []byte("b"))
	if res, err := f.ring.next(&rec); res != gotRecord || err != nil || string(rec.RawSample) != "b" || rec.Remaining != 0 {
		t.Fatalf("submitted record: %v, %v, %q, remaining %d", res, err, rec.RawSample, rec.Remaining)
	}
	if res, err := f.ring.next(&rec); res != ringEmpty || err != nil {
		t.Fatalf("drained ring: %v, %v", res, err)
	}
}

// Only discarded records: all skipped, the consumer moves past them.
func TestRingOnlyDiscarded(t *testing.T) {
	f := newFakeRing(4096)
	pos := uint64(0)
	for range 3 {
		pos = f.put(pos, 8|discardBit, make([]byte, 8))
	}
	f.setPositions(0, pos)
	var rec Record
	if res, err := f.ring.next(&rec); res != ringEmpty || err != nil {
		t.Fatalf("%v, %v; want an empty ring", res, err)
	}
	if f.consumer() != pos {
		t.Errorf("consumer_pos %d, want %d", f.consumer(), pos)
	}
}

// Positions or lengths the kernel never writes are errors, not reads out
// of bounds.
func TestRingCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name       string
		header     uint32
		cons, prod uint64
	}{
		{"length past producer", 100, 0, 16},
		{"length past the ring", 1<<30 - 1, 0, 4096},
		{"producer a ring ahead", 8, 0, 4096 + 8},
		{"partial header", 8, 0, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeRing(4096)
			f.put(0, tc.header, nil)
			f.setPositions(tc.cons, tc.prod)
			var rec Record
			if _, err := f.ring.next(&rec); !errors.Is(err, errCorrupt) {
				t.Errorf("error %v, want errCorrupt", err)
			}
		})
	}
}
