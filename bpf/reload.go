package bpf

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Reload loads the program again from the same instruction bytes and moves
// every Link of the running instance to the new one before unloading the
// old: no hook is ever left empty (invariant 9). A link the kernel can
// switch in place is updated with BPF_LINK_UPDATE; the others are attached
// again for the new instance and only then closed for the old. Program
// arrays that name the program switch to the new instance as well. On
// failure the old instance keeps running, with every link on it.
func (p *Program) Reload() error {
	p.lifecycle.Lock()
	defer p.lifecycle.Unlock()
	o := p.obj
	o.mu.Lock()
	oldFD, closed := p.fd, o.closed
	links := append([]*Link(nil), p.links...)
	o.mu.Unlock()
	switch {
	case closed:
		return fmt.Errorf("program %s: reload: %w", p.Name(), ErrClosed)
	case oldFD < 0:
		return fmt.Errorf("program %s: reload: %w", p.Name(), ErrNotLoaded)
	}

	newFD, err := p.newInstance(nil)
	if err != nil {
		return err
	}
	for i, l := range links {
		if err := l.moveTo(newFD); err != nil {
			for _, moved := range links[:i] {
				moved.moveTo(oldFD)
			}
			o.mu.Lock()
			p.fillProgArraysLocked(oldFD)
			p.releaseMapsLocked()
			o.mu.Unlock()
			unix.Close(newFD)
			return fmt.Errorf("program %s: reload: %w", p.Name(), err)
		}
	}
	o.mu.Lock()
	p.fd = newFD
	p.releaseMapsLocked() // the old instance's use
	o.mu.Unlock()
	unix.Close(oldFD)
	return nil
}

// moveTo makes the link run the program instance progFD: in place where
// it can, else by attaching the same hook anew and closing the old
// attachment after.
func (l *Link) moveTo(progFD int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.progFD == progFD {
		return nil
	}
	if l.att.update != nil {
		if err := l.att.update(progFD); err != nil {
			return fmt.Errorf("%s link on %s: update: %w", l.Kind, l.Target, err)
		}
		l.progFD = progFD
		return nil
	}
	if l.att.again == nil {
		return fmt.Errorf("%s link on %s: %w", l.Kind, l.Target, ErrNotUpdatable)
	}
	next, err := l.att.again(progFD)
	if err != nil {
		return fmt.Errorf("%s link on %s: attaching the new instance: %w", l.Kind, l.Target, err)
	}
	next.again = l.att.again
	old := l.att
	l.att, l.progFD = next, progFD
	// The hook runs the new instance now; an error closing the old
	// attachment's fds changes nothing of that.
	old.release()
	return nil
}
