package ringbuf

import (
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"
)

// The kernel lays a BPF ring buffer out for mmap as (kernel/bpf/ringbuf.c):
//
//	page 0      consumer_pos, the only thing user space writes
//	page 1      producer_pos, advanced by the kernel at each reserve
//	pages 2...  the data area of max_entries bytes, mapped twice in a row
//
// Because the data area follows itself in memory, a record that runs past
// its end is still contiguous and is copied out in one piece. Positions
// are unsigned longs that only grow; a position's offset in the data area
// is the position modulo its size, a power of two.
//
// Each record is an 8-byte header, then the sample, padded to 8 bytes.
// The header's first word is the sample's length with two flags: busy
// while the producer has reserved the record but not yet submitted or
// discarded it, and discard once it was discarded. The kernel sets the
// final length with an atomic exchange after writing the sample, so an
// atomic load of it that sees busy clear also sees the sample.

const (
	headerSize = 8
	busyBit    = 1 << 31
	discardBit = 1 << 30
)

// errCorrupt is a header the kernel never writes, or positions that
// cannot be: the ring is not one reader should trust further.
var errCorrupt = errors.New("ring buffer positions or record header inconsistent")

// ring reads records from the mapped pages.
type ring struct {
	// consumerPos and producerPos point into the mappings; both are
	// shared with the kernel and accessed only atomically.
	consumerPos *uintptr
	producerPos *uintptr
	// data is the data area mapped twice: 2*size bytes.
	data []byte
	mask uintptr
}

// newRing reads the ring whose consumer page is cons and whose producer
// page plus twice-mapped data area is prod.
func newRing(cons, prod []byte, pageSize, size int) ring {
	return ring{
		consumerPos: (*uintptr)(unsafe.Pointer(&cons[0])),
		producerPos: (*uintptr)(unsafe.Pointer(&prod[0])),
		data:        prod[pageSize : pageSize+2*size],
		mask:        uintptr(size - 1),
	}
}

// readResult says what next found.
type readResult int

const (
	gotRecord readResult = iota
	ringEmpty
	// recordBusy is a record reserved and not yet submitted: the next
	// one cannot be read before it, and it is moments away.
	recordBusy
)

// next copies the oldest submitted record into rec and gives its space
// back to the kernel, skipping discarded records on the way.
func (r *ring) next(rec *Record) (readResult, error) {
	// Only this reader writes consumer_pos; the load pairs with nothing
	// but keeps every access to shared memory atomic.
	cons := atomic.LoadUintptr(r.consumerPos)
	// Pairs with the kernel's smp_store_release of producer_pos: every
	// header below it was reserved.
	prod := atomic.LoadUintptr(r.producerPos)
	size := r.mask + 1
	if prod-cons > size {
		return 0, fmt.Errorf("%w: consumer %d, producer %d, size %d", errCorrupt, cons, prod, size)
	}
	for cons != prod {
		if prod-cons < headerSize {
			return 0, fmt.Errorf("%w: %d bytes after consumer %d", errCorrupt, prod-cons, cons)
		}
		off := cons & r.mask
		header := atomic.LoadUint32((*uint32)(unsafe.Pointer(&r.data[off])))
		if header&busyBit != 0 {
			return recordBusy, nil
		}
		length := uintptr(header &^ (busyBit | discardBit))
		total := (headerSize + length + 7) &^ 7
		if total > prod-cons {
			return 0, fmt.Errorf("%w: record of %d bytes at %d, %d bytes produced", errCorrupt, length, cons, prod-cons)
		}
		next := cons + total
		if header&discardBit == 0 {
			sample := r.data[off+headerSize : off+headerSize+length]
			if cap(rec.RawSample) < len(sample) {
				rec.RawSample = make([]byte, len(sample))
			}
			rec.RawSample = rec.RawSample[:len(sample)]
			copy(rec.RawSample, sample)
			rec.Remaining = int(prod - next)
		}
		// Release: the copy above is done before the kernel may reuse
		// the space, which it finds with smp_load_acquire.
		atomic.StoreUintptr(r.consumerPos, next)
		if header&discardBit == 0 {
			return gotRecord, nil
		}
		cons = next
	}
	return ringEmpty, nil
}
