package bpf

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/syscall"
)

func init() {
	registerAttacher(attachIter, "iter", "iter.s")
}

// attachIter makes an iterator link (BPF_LINK_CREATE, BPF_TRACE_ITER) of
// an iter program, whose target (iter/task, iter/bpf_map...) was fixed at
// load. Targets that walk one thing take it from the options:
// AttachOptions.Map for the elements of a map (bpf_map_elem,
// bpf_sk_storage_map, sockmap), PID for the tasks of one process (task,
// task_file, task_vma), Cgroup for a cgroup (cgroup). Read the link with
// OpenIterator. A reload switches the link to the new instance in place
// (BPF_LINK_UPDATE).
func attachIter(p *Program, progFD int, opts *AttachOptions) (*Link, error) {
	target := p.spec.Kind.AttachTo
	var info *syscall.IterLinkInfo
	var closeInfo func()
	switch target {
	case "bpf_map_elem", "bpf_sk_storage_map", "sockmap":
		if opts.Map == nil {
			return nil, targetMissing(p, "the map whose elements iter/"+target+" walks (AttachOptions.Map)")
		}
		if !opts.Map.Live() {
			return nil, fmt.Errorf("iter/%s on map %s: %w", target, opts.Map.Name(), ErrMapNotLive)
		}
		i := syscall.IterMapInfo(opts.Map.FD())
		info = &i
		target += " of map " + opts.Map.Name()
	case "task", "task_file", "task_vma":
		if opts.PID > 0 {
			i := syscall.IterTaskInfo(0, opts.PID)
			info = &i
			target += fmt.Sprintf(" of process %d", opts.PID)
		}
	case "cgroup":
		if opts.Cgroup != "" {
			fd, err := unix.Open(opts.Cgroup, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				return nil, fmt.Errorf("iter/cgroup: cgroup %s: %w", opts.Cgroup, err)
			}
			i := syscall.IterCgroupInfo(0, fd)
			info, closeInfo = &i, func() { unix.Close(fd) }
			target += " " + opts.Cgroup
		}
	}
	if closeInfo != nil {
		// The link holds the cgroup itself once made.
		defer closeInfo()
	}
	open := func(progFD int) (attachment, error) {
		fd, err := syscall.LinkCreateIter(progFD, info)
		if err != nil {
			return attachment{}, fmt.Errorf("attach iterator %s: %w", target, err)
		}
		return attachment{fd: fd, update: linkUpdater(fd)}, nil
	}
	// The cgroup fd is closed once attached: an iterator made again for a
	// reload would need it open, so such a link only updates in place.
	l, err := attachWith("iter", target, progFD, open)
	if err != nil {
		return nil, err
	}
	if closeInfo != nil {
		l.att.again = nil
	}
	return l, nil
}

// Iterator is one reading of an iterator link: the program runs over the
// objects of its target as it is read, and a read returns what the
// program wrote (bpf_seq_printf, bpf_seq_write), io.EOF after the last.
// Each Iterator reads the objects once; open another to read again.
type Iterator struct {
	mu     sync.Mutex
	fd     int
	closed bool
}

// OpenIterator starts a reading of an iterator link (BPF_ITER_CREATE).
func (l *Link) OpenIterator() (*Iterator, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrLinkClosed
	}
	if l.Kind != "iter" || l.att.fd < 0 {
		return nil, fmt.Errorf("%s link on %s is not an iterator", l.Kind, l.Target)
	}
	fd, err := syscall.IterCreate(l.att.fd)
	if err != nil {
		return nil, fmt.Errorf("iterator %s: BPF_ITER_CREATE: %w", l.Target, err)
	}
	return &Iterator{fd: fd}, nil
}

// Read reads what the program writes for the next objects.
func (it *Iterator) Read(b []byte) (int, error) {
	it.mu.Lock()
	defer it.mu.Unlock()
	if it.closed {
		return 0, fmt.Errorf("iterator: %w", ErrLinkClosed)
	}
	if len(b) == 0 {
		return 0, nil
	}
	for {
		n, err := unix.Read(it.fd, b)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return 0, fmt.Errorf("iterator: read: %w", err)
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// Close ends the reading.
func (it *Iterator) Close() error {
	it.mu.Lock()
	defer it.mu.Unlock()
	if it.closed {
		return nil
	}
	it.closed = true
	return unix.Close(it.fd)
}

var _ io.ReadCloser = (*Iterator)(nil)
