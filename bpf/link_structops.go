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

// AttachStructOps registers a live struct_ops map with the kernel
// subsystem its type implements (a TCP congestion control, a
// sched_ext scheduler...) through a struct_ops link (Linux 6.4); closing
// the Link unregisters it. The map must have been created with BPF_F_LINK,
// as libbpf does for SEC(".struct_ops.link").
//
// A kernel that refuses trampolines refuses struct_ops programs at load
// (EPERM), so that no such map can be filled there.
func (m *Map) AttachStructOps() (*Link, error) {
	if t := m.spec.Type; t != uapi.MapTypeStructOps {
		return nil, fmt.Errorf("map %s: attach struct_ops: a %s map is not a struct_ops map: %w", m.Name(), uapi.MapTypeName(t), unix.EINVAL)
	}
	if m.spec.Flags&uapi.FlagLink == 0 {
		return nil, fmt.Errorf("map %s: attach struct_ops: the map was not made with BPF_F_LINK (SEC(\".struct_ops.link\")): %w", m.Name(), unix.EINVAL)
	}
	mapFD, err := m.DupFD()
	if err != nil {
		return nil, fmt.Errorf("attach struct_ops: %w", err)
	}
	defer unix.Close(mapFD)
	attr := syscall.LinkCreateAttr{ProgFD: uint32(mapFD), AttachType: uapi.AttachStructOps}
	fd, err := syscall.LinkCreate(&attr)
	if err != nil {
		if errors.Is(err, unix.EINVAL) {
			err = fmt.Errorf("%w (struct_ops links need Linux 6.4 and a map whose value is filled in)", err)
		}
		return nil, fmt.Errorf("map %s: attach struct_ops: %w", m.Name(), err)
	}
	return newLink("struct_ops", m.Name(), attachment{fd: fd}), nil
}
