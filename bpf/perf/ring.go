package perf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/syscall"
)

// A perf event's ring, as mmap gives it (include/uapi/linux/perf_event.h):
// one page of struct perf_event_mmap_page, then a data area of 2^n pages.
// The kernel advances data_head after writing records; the reader
// advances data_tail after reading them, which gives the space back.
// Unlike a BPF ring buffer the data area is mapped once, so a record that
// runs past its end is copied in two pieces. Records are 8-byte aligned
// and start with struct perf_event_header, which never straddles the end.
//
// Records here are PERF_RECORD_SAMPLE with only PERF_SAMPLE_RAW: a u32
// size and that many bytes, which bpf_perf_event_output pads so that the
// size field and the data end on 8 bytes (the padding is part of the
// sample, as in cilium/ebpf); and PERF_RECORD_LOST: a u64 id and a u64
// count of records the kernel had no room for, written before the next
// record that fits.

const (
	headerSize = 8 // struct perf_event_header: u32 type, u16 misc, u16 size
	// lostSize is a PERF_RECORD_LOST: the header, u64 id, u64 lost.
	lostSize = headerSize + 16
)

// errCorrupt is a header the kernel never writes, or positions that
// cannot be: the ring is not one reader should trust further.
var errCorrupt = errors.New("perf ring positions or record header inconsistent")

// cpuRing is one CPU's event and the ring mapped from it.
type cpuRing struct {
	cpu  int
	fd   int
	mem  []byte // the whole mapping
	meta *unix.PerfEventMmapPage
	data []byte
	mask uint64
	// head is data_head as last loaded: records before it are complete.
	// tail is where reading resumes, stored to data_tail after each
	// record.
	head, tail uint64
}

// newRing reads the ring of the event fd of cpu mapped at mem.
func newRing(cpu, fd int, mem []byte) *cpuRing {
	meta := (*unix.PerfEventMmapPage)(unsafe.Pointer(&mem[0]))
	// data_offset and data_size are set by the kernel at mmap (Linux 4.1);
	// before that, the data area simply followed the first page.
	offset, size := atomic.LoadUint64(&meta.Data_offset), atomic.LoadUint64(&meta.Data_size)
	if size == 0 {
		offset = uint64(unix.Getpagesize())
		size = uint64(len(mem)) - offset
	}
	r := &cpuRing{cpu: cpu, fd: fd, mem: mem, meta: meta, data: mem[offset : offset+size], mask: size - 1}
	r.tail = atomic.LoadUint64(&meta.Data_tail)
	r.head = r.tail
	return r
}

// loadHead takes a new snapshot of data_head and reports whether there is
// anything to read before it.
func (r *cpuRing) loadHead() bool {
	// Pairs with the kernel's barrier before it publishes data_head: the
	// records before head are visible.
	r.head = atomic.LoadUint64(&r.meta.Data_head)
	return r.head != r.tail
}

// next reads the next sample or lost-count record before head into rec.
// It reports false once the ring is read up to head. Records of other
// types, which a BPF output event does not produce, are skipped.
func (r *cpuRing) next(rec *Record) (bool, error) {
	for r.tail != r.head {
		avail := r.head - r.tail
		if avail > uint64(len(r.data)) || avail < headerSize {
			return false, fmt.Errorf("%w: head %d, tail %d, size %d", errCorrupt, r.head, r.tail, len(r.data))
		}
		off := r.tail & r.mask
		typ := binary.NativeEndian.Uint32(r.data[off:])
		size := uint64(binary.NativeEndian.Uint16(r.data[off+6:]))
		if size < headerSize || size > avail || size%8 != 0 {
			return false, fmt.Errorf("%w: record of %d bytes at %d, %d available", errCorrupt, size, r.tail, avail)
		}
		got := true
		switch typ {
		case syscall.PerfRecordSample:
			if size < headerSize+4 {
				return false, fmt.Errorf("%w: sample record of %d bytes", errCorrupt, size)
			}
			n := uint64(binary.NativeEndian.Uint32(r.data[(off+headerSize)&r.mask:]))
			if headerSize+4+n > size {
				return false, fmt.Errorf("%w: %d-byte sample in a %d-byte record", errCorrupt, n, size)
			}
			if uint64(cap(rec.RawSample)) < n {
				rec.RawSample = make([]byte, n)
			}
			rec.RawSample = rec.RawSample[:n]
			r.copyAt(rec.RawSample, r.tail+headerSize+4)
			rec.LostSamples = 0
		case syscall.PerfRecordLost:
			if size < lostSize {
				return false, fmt.Errorf("%w: lost record of %d bytes", errCorrupt, size)
			}
			rec.RawSample = rec.RawSample[:0]
			rec.LostSamples = binary.NativeEndian.Uint64(r.data[(off+headerSize+8)&r.mask:])
		default:
			got = false
		}
		r.tail += size
		// Every read of the record above happens before the kernel may
		// write over it.
		atomic.StoreUint64(&r.meta.Data_tail, r.tail)
		if got {
			rec.CPU = r.cpu
			rec.Remaining = int(r.head - r.tail)
			return true, nil
		}
	}
	return false, nil
}

// copyAt fills p from the ring at position pos, wrapping at its end.
func (r *cpuRing) copyAt(p []byte, pos uint64) {
	off := pos & r.mask
	n := copy(p, r.data[off:])
	copy(p[n:], r.data)
}
