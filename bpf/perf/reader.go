package perf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/bpf"
	"github.com/rawload/rawload/bpf/internal/events"
	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/syscall"
)

// ErrClosed is wrapped by the error of every Read after Close, and of a
// Read that Close interrupted. It is os.ErrClosed, as in cilium/ebpf's
// perf package; it is not bpf.ErrClosed, which is about the Object, and
// the Object's Close does not close a Reader.
var ErrClosed = os.ErrClosed

// Record is a sample a BPF program wrote with bpf_perf_event_output, or
// a count of samples the kernel had no room for.
type Record struct {
	// CPU is the CPU whose ring the record was read from: the CPU the
	// program ran on.
	CPU int
	// RawSample is a copy of the sample, empty in a lost-samples record.
	// The kernel pads the sample so that it and its 4-byte size end on 8
	// bytes: up to 7 bytes after what the program wrote belong to it.
	RawSample []byte
	// LostSamples is the number of samples the kernel dropped on this
	// CPU because the ring was full, reported in place of a sample once
	// there is room again; 0 in a sample record.
	LostSamples uint64
	// Remaining is the number of bytes after this record in the CPU's
	// ring when it was read: a lower bound of what is left to read there.
	Remaining int
}

// ReaderOptions say when the kernel wakes a blocked Read.
type ReaderOptions struct {
	// Watermark is the number of bytes a CPU's ring must hold before the
	// kernel wakes the reader; 0 wakes it for every record. It must be
	// smaller than the per-CPU buffer. A Read that has nothing to return
	// sleeps until a ring reaches it, so set a deadline to collect what
	// stays below it.
	Watermark int
	// WakeupEvents counts records instead of bytes: the kernel wakes the
	// reader every WakeupEvents records on a CPU. It cannot be combined
	// with Watermark.
	WakeupEvents int
}

// Reader reads the records BPF programs write to a
// BPF_MAP_TYPE_PERF_EVENT_ARRAY through one perf event and ring per CPU.
// Records of one CPU come in the order they were written; records of
// different CPUs in no particular order. Read and ReadInto may be called
// from one goroutine at a time (others wait); SetDeadline and Close from
// any goroutine.
type Reader struct {
	name       string
	mapFD      int
	rings      []*cpuRing
	bufferSize int
	poller     *events.Poller
	// stored are the map keys (CPUs) holding one of this Reader's
	// events, cleared on Close.
	stored []uint32

	// mu is held by a Read for its whole duration, wait included, and by
	// Close to release what the Read uses.
	mu sync.Mutex
	// pending are the rings to read up to their head before looking at
	// every ring again; guarded by mu.
	pending  []*cpuRing
	closed   atomic.Bool
	deadline events.Deadline
}

// perfEventOpen opens each CPU's event; tests replace it to take CPUs
// offline.
var perfEventOpen = syscall.PerfEventOpen

// NewReader is NewReaderWithOptions with the default options.
func NewReader(m *bpf.Map, perCPUBuffer int) (*Reader, error) {
	return NewReaderWithOptions(m, perCPUBuffer, ReaderOptions{})
}

// NewReaderWithOptions opens a BPF output perf event for every possible
// CPU that is online, maps a ring of at least perCPUBuffer bytes (rounded
// up to a power of two pages) for each, and stores each event in the
// live perf event array m under its CPU number; m needs an entry for
// every possible CPU. A CPU that is offline is skipped: the kernel
// refuses to open an event there (ENODEV), and what a program on it
// would write is refused with ENOENT.
//
// The Reader holds its own fd of the map, so the events it stored stay
// in the map whatever the Object does afterwards; Close removes them.
// A newer Reader on the same map replaces an older one's events; one
// Reader per map is the rule.
func NewReaderWithOptions(m *bpf.Map, perCPUBuffer int, opts ReaderOptions) (_ *Reader, err error) {
	if perCPUBuffer < 1 {
		return nil, fmt.Errorf("perf %s: per-CPU buffer of %d bytes", m.Name(), perCPUBuffer)
	}
	if opts.Watermark < 0 || opts.WakeupEvents < 0 {
		return nil, fmt.Errorf("perf %s: negative watermark or wakeup events", m.Name())
	}
	if opts.Watermark > 0 && opts.WakeupEvents > 0 {
		return nil, fmt.Errorf("perf %s: Watermark and WakeupEvents are exclusive", m.Name())
	}
	mmapSize := ringMmapSize(perCPUBuffer)
	dataSize := mmapSize - os.Getpagesize()
	if opts.Watermark >= dataSize {
		return nil, fmt.Errorf("perf %s: watermark %d not below the %d-byte per-CPU buffer", m.Name(), opts.Watermark, dataSize)
	}
	cpus, err := bpf.PossibleCPUs()
	if err != nil {
		return nil, fmt.Errorf("perf %s: %w", m.Name(), err)
	}

	fd, info, err := events.DupMap(m, bpf.MapType(uapi.MapTypePerfEventArray))
	if err != nil {
		return nil, fmt.Errorf("perf: %w", err)
	}
	r := &Reader{name: m.Name(), mapFD: fd, bufferSize: dataSize}
	defer func() {
		if err != nil {
			r.release()
		}
	}()
	// A program on a CPU past the last key could not write: refuse
	// rather than lose its records silently.
	if int(info.MaxEntries) < cpus {
		return nil, fmt.Errorf("perf %s: %d entries for %d possible CPUs", r.name, info.MaxEntries, cpus)
	}
	if r.poller, err = events.NewPoller(); err != nil {
		return nil, fmt.Errorf("perf %s: %w", r.name, err)
	}
	for cpu := range cpus {
		ring, err := openRing(cpu, mmapSize, opts)
		if errors.Is(err, unix.ENODEV) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("perf %s: %w", r.name, err)
		}
		r.rings = append(r.rings, ring)
		if err := r.poller.Watch(ring.fd); err != nil {
			return nil, fmt.Errorf("perf %s: CPU %d: %w", r.name, cpu, err)
		}
	}
	if len(r.rings) == 0 {
		return nil, fmt.Errorf("perf %s: no CPU is online", r.name)
	}
	// Stored last: a program writes only to a ring that is mapped and
	// watched.
	for _, ring := range r.rings {
		if err := syscall.MapUpdateElem(fd, u32Bytes(uint32(ring.cpu)), u32Bytes(uint32(ring.fd)), 0); err != nil {
			return nil, fmt.Errorf("perf %s: storing CPU %d's event: %w", r.name, ring.cpu, err)
		}
		r.stored = append(r.stored, uint32(ring.cpu))
	}
	r.pending = make([]*cpuRing, 0, len(r.rings))
	return r, nil
}

// openRing opens cpu's BPF output event disabled, maps its ring, and
// enables it.
func openRing(cpu, mmapSize int, opts ReaderOptions) (_ *cpuRing, err error) {
	attr := syscall.PerfEventAttr{
		Type:       syscall.PerfTypeSoftware,
		Config:     syscall.PerfCountSWBPFOutput,
		SampleType: syscall.PerfSampleRaw,
		Bits:       syscall.PerfBitDisabled,
	}
	if opts.WakeupEvents > 0 {
		attr.Wakeup = uint32(opts.WakeupEvents)
	} else {
		attr.Bits |= syscall.PerfBitWatermark
		attr.Wakeup = uint32(max(opts.Watermark, 1))
	}
	fd, err := perfEventOpen(&attr, -1, cpu, -1, syscall.PerfFlagFDCloexec)
	if err != nil {
		return nil, fmt.Errorf("CPU %d: perf_event_open: %w", cpu, err)
	}
	defer func() {
		if err != nil {
			unix.Close(fd)
		}
	}()
	mem, err := unix.Mmap(fd, 0, mmapSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("CPU %d: mmap of %d bytes: %w", cpu, mmapSize, err)
	}
	if err := syscall.PerfEventEnable(fd); err != nil {
		unix.Munmap(mem)
		return nil, fmt.Errorf("CPU %d: enable: %w", cpu, err)
	}
	return newRing(cpu, fd, mem), nil
}

// ringMmapSize is what the kernel accepts to map: one metadata page and a
// power of two pages of data, at least perCPUBuffer bytes of them.
func ringMmapSize(perCPUBuffer int) int {
	page := os.Getpagesize()
	pages := 1
	for pages*page < perCPUBuffer {
		pages *= 2
	}
	return (1 + pages) * page
}

func u32Bytes(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

// BufferSize is the size of each CPU's ring in bytes.
func (r *Reader) BufferSize() int { return r.bufferSize }

// CPUs are the CPUs the Reader has a ring for, in order: the possible
// CPUs that were online when it was made.
func (r *Reader) CPUs() []int {
	cpus := make([]int, len(r.rings))
	for i, ring := range r.rings {
		cpus[i] = ring.cpu
	}
	return cpus
}

// SetDeadline makes Read and ReadInto return an error wrapping
// os.ErrDeadlineExceeded once t has passed and no ring holds a record,
// including a Read already blocked. The zero time removes the deadline;
// a time in the past makes Read return at once when every ring is empty.
func (r *Reader) SetDeadline(t time.Time) {
	r.deadline.Set(t)
	// A closed poller has nothing to wake.
	_ = r.poller.Wake()
}

// Read returns the next record of any CPU, blocking until there is one.
func (r *Reader) Read() (Record, error) {
	var rec Record
	err := r.ReadInto(&rec)
	return rec, err
}

// ReadInto reads the next record into rec, reusing rec.RawSample when it
// is large enough: reading allocates nothing then.
//
// Each time it looks at the rings it takes a snapshot of every ring's
// head and reads all of them up to it before looking again, so one busy
// CPU does not starve the others.
func (r *Reader) ReadInto(rec *Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		if r.closed.Load() {
			return fmt.Errorf("perf %s: %w", r.name, ErrClosed)
		}
		for len(r.pending) > 0 {
			ring := r.pending[len(r.pending)-1]
			ok, err := ring.next(rec)
			if err != nil {
				return fmt.Errorf("perf %s: CPU %d: %w", r.name, ring.cpu, err)
			}
			if ok {
				return nil
			}
			r.pending = r.pending[:len(r.pending)-1]
		}
		// Every ring, not only those the kernel woke us for: one below
		// its watermark holds records too.
		for i := len(r.rings) - 1; i >= 0; i-- {
			if r.rings[i].loadHead() {
				r.pending = append(r.pending, r.rings[i])
			}
		}
		if len(r.pending) > 0 {
			continue
		}
		if r.deadline.Passed() {
			return fmt.Errorf("perf %s: %w", r.name, os.ErrDeadlineExceeded)
		}
		// A deadline that passes in Wait is reported above, after one
		// more look at the rings.
		if err := r.poller.Wait(r.deadline.Time()); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("perf %s: %w", r.name, err)
		}
	}
}

// Close removes the Reader's events from the map, so programs get ENOENT
// from bpf_perf_event_output, and releases its rings and fds. A Read
// blocked in another goroutine returns an error wrapping ErrClosed; so
// does every later Read. Closing twice does nothing.
func (r *Reader) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	// Wake a blocked Read, then wait for it to let go of the rings.
	wakeErr := r.poller.Wake()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := errors.Join(wakeErr, r.release()); err != nil {
		return fmt.Errorf("perf %s: close: %w", r.name, err)
	}
	return nil
}

// release undoes whatever NewReaderWithOptions did so far, in reverse.
func (r *Reader) release() error {
	var errs []error
	for _, cpu := range r.stored {
		err := syscall.MapDeleteElem(r.mapFD, u32Bytes(cpu))
		if err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("removing CPU %d's event: %w", cpu, err))
		}
	}
	r.stored = nil
	for _, ring := range r.rings {
		if err := unix.Munmap(ring.mem); err != nil {
			errs = append(errs, fmt.Errorf("CPU %d: munmap: %w", ring.cpu, err))
		}
		if err := unix.Close(ring.fd); err != nil {
			errs = append(errs, fmt.Errorf("CPU %d: close: %w", ring.cpu, err))
		}
	}
	r.rings, r.pending = nil, nil
	if r.poller != nil {
		errs = append(errs, r.poller.Close())
	}
	if r.mapFD >= 0 {
		errs = append(errs, unix.Close(r.mapFD))
		r.mapFD = -1
	}
	return errors.Join(errs...)
}
