package ringbuf

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/bpf"
	"github.com/rawload/rawload/bpf/internal/events"
	"github.com/rawload/rawload/internal/uapi"
)

// ErrClosed is wrapped by the error of every Read after Close, and of a
// Read that Close interrupted. It is os.ErrClosed, as in cilium/ebpf's
// ringbuf package, so code written against either recognises it; it is
// not bpf.ErrClosed, which is about the Object, and the Object's Close
// does not close a Reader.
var ErrClosed = os.ErrClosed

// Record is a sample a BPF program submitted.
type Record struct {
	// RawSample is a copy of the sample's bytes, exactly as long as the
	// program submitted.
	RawSample []byte
	// Remaining is the number of bytes after this record that the
	// producer had reserved when it was read: a lower bound of what is
	// left to read.
	Remaining int
}

// Reader reads the records of a BPF_MAP_TYPE_RINGBUF map, in the order
// they were reserved. Read and ReadInto may be called from one goroutine
// at a time (others wait); SetDeadline and Close from any goroutine.
type Reader struct {
	name  string
	mapFD int
	size  int
	// cons and prod are the mappings; ring points into them.
	cons, prod []byte
	ring       ring
	poller     *events.Poller

	// mu is held by a Read for its whole duration, wait included, and by
	// Close to release what the Read uses.
	mu       sync.Mutex
	closed   atomic.Bool
	deadline events.Deadline
}

// NewReader maps the ring buffer m and returns a Reader of it. m must be
// live. The Reader holds its own fd of the map, so it reads on whatever
// the Object does afterwards: after a Destroy, Close or re-Create of the
// map the Reader still reads the map that was live when it was made.
func NewReader(m *bpf.Map) (_ *Reader, err error) {
	fd, info, err := events.DupMap(m, bpf.MapType(uapi.MapTypeRingBuf))
	if err != nil {
		return nil, fmt.Errorf("ringbuf: %w", err)
	}
	r := &Reader{name: m.Name(), mapFD: fd, size: int(info.MaxEntries)}
	defer func() {
		if err != nil {
			r.release()
		}
	}()
	// The kernel refuses any other size at creation; the bounds of every
	// read below rest on it.
	page := os.Getpagesize()
	if r.size <= 0 || r.size&(r.size-1) != 0 || r.size%page != 0 {
		return nil, fmt.Errorf("ringbuf %s: size %d is not a power-of-two multiple of the page size", r.name, r.size)
	}
	// Only the consumer page is writable: the kernel refuses a writable
	// mapping of anything else.
	if r.cons, err = unix.Mmap(fd, 0, page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED); err != nil {
		return nil, fmt.Errorf("ringbuf %s: mmap consumer page: %w", r.name, err)
	}
	if r.prod, err = unix.Mmap(fd, int64(page), page+2*r.size, unix.PROT_READ, unix.MAP_SHARED); err != nil {
		return nil, fmt.Errorf("ringbuf %s: mmap producer page and data: %w", r.name, err)
	}
	r.ring = newRing(r.cons, r.prod, page, r.size)
	if r.poller, err = events.NewPoller(); err != nil {
		return nil, fmt.Errorf("ringbuf %s: %w", r.name, err)
	}
	// The map's fd is readable while the ring holds unconsumed bytes.
	if err = r.poller.Watch(fd); err != nil {
		return nil, fmt.Errorf("ringbuf %s: %w", r.name, err)
	}
	return r, nil
}

// BufferSize is the size of the ring's data area in bytes.
func (r *Reader) BufferSize() int { return r.size }

// SetDeadline makes Read and ReadInto return an error wrapping
// os.ErrDeadlineExceeded once t has passed and the ring holds no record,
// including a Read already blocked. The zero time removes the deadline;
// a time in the past makes Read return at once when the ring is empty.
func (r *Reader) SetDeadline(t time.Time) {
	r.deadline.Set(t)
	// A closed poller has nothing to wake.
	_ = r.poller.Wake()
}

// Read returns the next record, blocking until there is one. Discarded
// records are skipped.
func (r *Reader) Read() (Record, error) {
	var rec Record
	err := r.ReadInto(&rec)
	return rec, err
}

// ReadInto reads the next record into rec, reusing rec.RawSample when it
// is large enough: reading allocates nothing then.
func (r *Reader) ReadInto(rec *Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	spins := 0
	for {
		if r.closed.Load() {
			return fmt.Errorf("ringbuf %s: %w", r.name, ErrClosed)
		}
		res, err := r.ring.next(rec)
		if err != nil {
			return fmt.Errorf("ringbuf %s: %w", r.name, err)
		}
		if res == gotRecord {
			return nil
		}
		if r.deadline.Passed() {
			return fmt.Errorf("ringbuf %s: %w", r.name, os.ErrDeadlineExceeded)
		}
		if res == recordBusy {
			// The map's fd stays readable under a busy record, so
			// waiting would not wait: yield, then back off.
			spins++
			if spins < 64 {
				runtime.Gosched()
			} else {
				time.Sleep(50 * time.Microsecond)
			}
			continue
		}
		spins = 0
		// An expired deadline is checked above, after one more look at
		// the ring: a producer that submits with BPF_RB_NO_WAKEUP wakes
		// no one.
		if err := r.poller.Wait(r.deadline.Time()); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("ringbuf %s: %w", r.name, err)
		}
	}
}

// Close releases the Reader's mappings and fds. A Read blocked in another
// goroutine returns an error wrapping ErrClosed; so does every later
// Read. Closing twice does nothing.
func (r *Reader) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	// Wake a blocked Read, then wait for it to let go of the mappings.
	wakeErr := r.poller.Wake()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := errors.Join(wakeErr, r.release()); err != nil {
		return fmt.Errorf("ringbuf %s: close: %w", r.name, err)
	}
	return nil
}

// release unmaps and closes whatever NewReader got so far.
func (r *Reader) release() error {
	var errs []error
	if r.prod != nil {
		errs = append(errs, unix.Munmap(r.prod))
		r.prod = nil
	}
	if r.cons != nil {
		errs = append(errs, unix.Munmap(r.cons))
		r.cons = nil
	}
	r.ring = ring{}
	if r.poller != nil {
		errs = append(errs, r.poller.Close())
	}
	if r.mapFD >= 0 {
		errs = append(errs, unix.Close(r.mapFD))
		r.mapFD = -1
	}
	return errors.Join(errs...)
}
