package events

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Poller waits for fds to become readable, or for wake.
//
// wake writes to an eventfd in the same epoll set, so a wait blocked in
// epoll_wait returns at once. The epoll fd itself is never closed under a
// wait: the reader wakes its Read, waits for it to let go of the reader,
// and only then calls close. (Closing an fd does not wake an epoll_wait
// on it; the wait would sleep on until its timeout.)
type Poller struct {
	epfd, wakefd int
	events       []unix.EpollEvent
	// mu keeps wake off the eventfd's number once close has released it:
	// it may be another file's by then.
	mu     sync.Mutex
	closed bool
}

// wakeTag marks the eventfd's events; the readers' own fds are tagged 0.
const wakeTag = -1

// NewPoller makes an epoll set holding its wake-up eventfd.
func NewPoller() (*Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	p := &Poller{epfd: epfd, wakefd: wakefd}
	if err := p.add(wakefd, wakeTag); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// Watch adds fd to the set: wait returns once it is readable.
func (p *Poller) Watch(fd int) error { return p.add(fd, 0) }

func (p *Poller) add(fd int, tag int32) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: tag}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("epoll_ctl add fd %d: %w", fd, err)
	}
	// Room for every fd at once, so that one wait sees the wake-up too.
	p.events = append(p.events, unix.EpollEvent{})
	return nil
}

// Wait blocks until a watched fd is readable, wake is called, or the
// deadline (none if zero) passes, which returns os.ErrDeadlineExceeded.
// It does not say which fd is readable: the readers look at every ring
// anyway, since a perf ring below its watermark has data but no wake-up.
// After a wake the caller looks again at why it waits. One goroutine at a
// time may wait; it allocates nothing.
func (p *Poller) Wait(deadline time.Time) error {
	for {
		timeout := -1
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				return os.ErrDeadlineExceeded
			}
			// Rounded up: waking early would only wait again.
			timeout = int((left + time.Millisecond - 1) / time.Millisecond)
		}
		n, err := unix.EpollWait(p.epfd, p.events, timeout)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("epoll_wait: %w", err)
		}
		if n == 0 {
			continue // timed out: the deadline check above decides
		}
		for _, ev := range p.events[:n] {
			if ev.Fd == wakeTag {
				p.Drain()
			}
		}
		return nil
	}
}

// Drain resets the eventfd, so that the next wait blocks again.
func (p *Poller) Drain() {
	var buf [8]byte
	unix.Read(p.wakefd, buf[:])
}

// Wake makes a blocked wait return, or the next one if none is blocked.
func (p *Poller) Wake() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("poller: %w", os.ErrClosed)
	}
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	if _, err := unix.Write(p.wakefd, one[:]); err != nil && !errors.Is(err, unix.EAGAIN) {
		// EAGAIN: the counter is full, and a wake-up pending anyway.
		return fmt.Errorf("eventfd write: %w", err)
	}
	return nil
}

// Close releases the epoll set and the eventfd. No wait may be running.
func (p *Poller) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	return errors.Join(closeFD("epoll", p.epfd), closeFD("eventfd", p.wakefd))
}

func closeFD(what string, fd int) error {
	if err := unix.Close(fd); err != nil {
		return fmt.Errorf("closing %s fd %d: %w", what, fd, err)
	}
	return nil
}
