package bpf

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/syscall"
)

func init() {
	registerAttacher(attachPerfEventProgram, "perf_event")
}

// attachPerfEventProgram attaches a perf_event program to the perf event
// AttachOptions.PerfEvent, which stays the caller's: closing the Link
// detaches the program and leaves the event open.
//
// A perf event runs one program at most (the kernel says EEXIST to a
// second), so such a link can neither switch programs in place nor be
// attached again for a new instance while the old one runs: a Reload of
// its program fails and leaves the old instance running.
func attachPerfEventProgram(p *Program, progFD int, opts *AttachOptions) (*Link, error) {
	perfFD := opts.PerfEvent
	if perfFD <= 0 {
		return nil, targetMissing(p, "a perf event (its fd in AttachOptions.PerfEvent)")
	}
	target := fmt.Sprintf("perf event fd %d", perfFD)
	att, err := perfEventLinkOnly(progFD, perfFD, opts.Cookie)
	if err != nil {
		return nil, fmt.Errorf("attach to %s: %w", target, err)
	}
	return newLink("perf_event", target, att), nil
}

// perfEventLinkOnly makes a BPF link on a perf event the caller owns.
// Without perf links (before 5.15) there is no way to detach a program
// from an event but to close the event, which is not ours to close.
func perfEventLinkOnly(progFD, perfFD int, cookie uint64) (attachment, error) {
	fd, err := linkPerfEvent(progFD, perfFD, cookie)
	switch {
	case errors.Is(err, unix.EEXIST):
		return attachment{}, fmt.Errorf("BPF_LINK_CREATE: the perf event runs a program already (one at most): %w", err)
	case errors.Is(err, unix.EINVAL):
		return attachment{}, fmt.Errorf("BPF_LINK_CREATE: %w (not a sampling event a perf_event program can take, or a kernel without BPF links on perf events, Linux 5.15)", err)
	case err != nil:
		return attachment{}, fmt.Errorf("BPF_LINK_CREATE: %w", err)
	}
	return attachment{fd: fd}, nil
}

// linkPerfEvent creates a BPF link (BPF_PERF_EVENT) of a program on a perf
// event, with the cookie bpf_get_attach_cookie returns.
func linkPerfEvent(progFD, perfFD int, cookie uint64) (int, error) {
	attr := syscall.LinkCreateAttr{ProgFD: uint32(progFD), TargetFD: uint32(perfFD), AttachType: uapi.AttachPerfEvent}
	attr.PerfEvent().BPFCookie = cookie
	return syscall.LinkCreate(&attr)
}

// attachPerfEvent attaches a program to a perf event rawload opened for
// it (a tracepoint, kprobe or uprobe event), which the attachment then
// holds: a BPF link where the kernel has them on perf events (5.15), else
// PERF_EVENT_IOC_SET_BPF and ENABLE, the program running until the event
// closes. On error perfFD is still the caller's to close.
func attachPerfEvent(progFD, perfFD int, cookie uint64) (attachment, error) {
	fd, err := linkPerfEvent(progFD, perfFD, cookie)
	if err == nil {
		return attachment{fd: fd, held: []int{perfFD}}, nil
	}
	if !errors.Is(err, unix.EINVAL) {
		return attachment{}, fmt.Errorf("BPF_LINK_CREATE on the perf event: %w", err)
	}
	// EINVAL: a kernel without perf links, or a program the event does
	// not take; the ioctl tells which.
	if ierr := syscall.PerfEventSetBPF(perfFD, progFD); ierr != nil {
		return attachment{}, fmt.Errorf("BPF_LINK_CREATE on the perf event: %w; PERF_EVENT_IOC_SET_BPF: %w", err, ierr)
	}
	if cookie != 0 {
		return attachment{}, fmt.Errorf("a BPF cookie needs a BPF link on the perf event, which this kernel lacks (Linux 5.15): %w", err)
	}
	if err := syscall.PerfEventEnable(perfFD); err != nil {
		return attachment{}, fmt.Errorf("enabling the perf event: %w", err)
	}
	return attachment{fd: -1, held: []int{perfFD}}, nil
}

// perfAttachment opens a perf event with open and attaches the program
// to it, closing the event on failure.
func perfAttachment(progFD int, cookie uint64, open func() (int, error)) (attachment, error) {
	perfFD, err := open()
	if err != nil {
		return attachment{}, err
	}
	att, err := attachPerfEvent(progFD, perfFD, cookie)
	if err != nil {
		unix.Close(perfFD)
		return attachment{}, err
	}
	return att, nil
}
