package bpf

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/syscall"
)

func init() {
	registerAttacher(attachStructOpsProgram, "struct_ops", "struct_ops.s")
}

// attachStructOpsProgram explains that struct_ops programs are not
// attached one by one: the kernel calls them through the struct_ops map
// that holds them, once that map is registered (Map.AttachStructOps).
func attachStructOpsProgram(p *Program, _ int, _ *AttachOptions) (*Link, error) {
	return nil, fmt.Errorf("%w: a struct_ops program runs when the struct_ops map holding it is registered (Map.AttachStructOps)", ErrAttachUnsupported)
}

// AttachStructOps registers a struct_ops map with the kernel subsystem
// its type implements (a TCP congestion control, a sched_ext
// scheduler...), as libbpf's bpf_map__attach_struct_ops does. Every
// program the map points at must be loaded (Object.Load). The map is
// created when not live, its value laid out as the kernel's struct with
// the programs' fds, and written; a map of a .struct_ops.link section is
// then registered through a struct_ops link (Linux 6.4), one of
// .struct_ops by that write itself. Closing the Link unregisters it.
//
// A kernel that refuses trampolines refuses struct_ops programs at load
// (EPERM), so no struct_ops map can be registered there.
func (m *Map) AttachStructOps() (*Link, error) {
	if t := m.spec.Type; t != uapi.MapTypeStructOps || m.spec.StructOps == nil {
		return nil, fmt.Errorf("map %s: attach struct_ops: a %s map is not a struct_ops map: %w", m.Name(), uapi.MapTypeName(t), unix.EINVAL)
	}
	if err := m.Err(); err != nil {
		return nil, fmt.Errorf("attach struct_ops: %w", err)
	}
	value, err := m.structOpsValueNow()
	if err != nil {
		return nil, fmt.Errorf("map %s: attach struct_ops: %w", m.Name(), err)
	}
	mapFD, err := m.DupFD()
	if err != nil {
		return nil, fmt.Errorf("attach struct_ops: %w", err)
	}
	var key [4]byte
	if err := syscall.MapUpdateElem(mapFD, key[:], value, 0); err != nil {
		unix.Close(mapFD)
		return nil, fmt.Errorf("map %s: attach struct_ops: writing the value: %w", m.Name(), err)
	}
	if m.spec.Flags&uapi.FlagLink == 0 {
		// The write registered it; deleting the element unregisters.
		return newLink("struct_ops", m.Name(), attachment{fd: -1, held: []int{mapFD}, detach: func() error {
			return syscall.MapDeleteElem(mapFD, key[:])
		}}), nil
	}
	defer unix.Close(mapFD)
	attr := syscall.LinkCreateAttr{ProgFD: uint32(mapFD), AttachType: uapi.AttachStructOps}
	fd, err := syscall.LinkCreate(&attr)
	if err != nil {
		if errors.Is(err, unix.EINVAL) {
			err = fmt.Errorf("%w (struct_ops links need Linux 6.4)", err)
		}
		return nil, fmt.Errorf("map %s: attach struct_ops: %w", m.Name(), err)
	}
	return newLink("struct_ops", m.Name(), attachment{fd: fd}), nil
}

// structOpsValueNow makes the map live and lays out its value with the
// fds of the loaded programs it points at.
func (m *Map) structOpsValueNow() ([]byte, error) {
	o := m.obj
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil, ErrClosed
	}
	if err := m.createLocked(nil); err != nil {
		return nil, err
	}
	k, err := m.kernelStructOpsLocked()
	if err != nil {
		return nil, err
	}
	return m.structOpsValue(k, func(name string) (int, error) {
		p := o.Program(name)
		switch {
		case p == nil:
			return -1, fmt.Errorf("no program %s", name)
		case p.fd < 0:
			return -1, fmt.Errorf("program %s: %w", name, ErrNotLoaded)
		}
		return p.fd, nil
	})
}
