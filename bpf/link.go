package bpf

import (
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/syscall"
)

// Link is an attachment of a program to a hook. The program keeps running
// while the link is open, even after Program.Unload.
type Link struct {
	mu sync.Mutex
	fd int
}

// FD is the link's fd, -1 once closed.
func (l *Link) FD() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fd
}

// Close detaches the program.
func (l *Link) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fd < 0 {
		return nil
	}
	err := unix.Close(l.fd)
	l.fd = -1
	return err
}

// Attach attaches the loaded program to the hook its section names.
func (p *Program) Attach() (*Link, error) {
	p.lifecycle.Lock()
	defer p.lifecycle.Unlock()
	fd := p.FD()
	if fd < 0 {
		return nil, p.notLoaded("attach")
	}
	kind := p.spec.Kind
	switch kind.Convention {
	case "raw_tp", "raw_tracepoint":
		if kind.AttachTo == "" {
			return nil, fmt.Errorf("program %s: section %s names no tracepoint", p.Name(), p.Section())
		}
		lfd, err := syscall.RawTracepointOpen(kind.AttachTo, fd)
		if err != nil {
			return nil, fmt.Errorf("program %s: attach to raw tracepoint %s: %w", p.Name(), kind.AttachTo, err)
		}
		return &Link{fd: lfd}, nil
	case "tp_btf":
		// The tracepoint is known from the program's attach_btf_id.
		lfd, err := syscall.RawTracepointOpen("", fd)
		if err != nil {
			return nil, fmt.Errorf("program %s: attach to BTF tracepoint %s: %w", p.Name(), kind.AttachTo, err)
		}
		return &Link{fd: lfd}, nil
	}
	return nil, fmt.Errorf("program %s: attaching %s programs: %w", p.Name(), kind.Convention, ErrAttachUnsupported)
}
