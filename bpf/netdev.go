package bpf

import (
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/syscall"
)

// netDevice is the interface an xdp, tcx or netkit program attaches to,
// in the network namespace AttachOptions.Netns names.
type netDevice struct {
	name     string // as given; "" when only the index was
	ifindex  int    // as given, or found for the name
	netns    string
	resolved bool
}

// netDeviceOf reads the interface from the options; the name is resolved
// to its index at the first link, inside the namespace.
func netDeviceOf(p *Program, opts *AttachOptions) (*netDevice, error) {
	switch {
	case opts.Interface == "" && opts.Ifindex == 0:
		return nil, targetMissing(p, needsInterface)
	case opts.Ifindex < 0:
		return nil, fmt.Errorf("interface index %d: %w", opts.Ifindex, unix.EINVAL)
	}
	return &netDevice{name: opts.Interface, ifindex: opts.Ifindex, netns: opts.Netns}, nil
}

func (d *netDevice) String() string {
	s := d.name
	if s == "" {
		s = "ifindex " + strconv.Itoa(d.ifindex)
	}
	if d.netns != "" {
		s += " (" + netnsName(d.netns) + ")"
	}
	return s
}

// link makes a BPF link of attachType on the interface, for xdp, tcx and
// netkit alike: the kernel takes the interface index as the target.
func (d *netDevice) link(progFD int, attachType uint32) (int, error) {
	fd := -1
	err := withNetns(d.netns, func() error {
		if err := d.resolve(); err != nil {
			return err
		}
		attr := syscall.LinkCreateAttr{
			ProgFD:     uint32(progFD),
			TargetFD:   uint32(d.ifindex),
			AttachType: attachType,
		}
		var err error
		fd, err = syscall.LinkCreate(&attr)
		return err
	})
	return fd, err
}

// resolve finds the interface in the calling thread's namespace: the
// index of a name (which must be the index given too, if one was), or
// checks that an index is there (XDP links refuse a missing one with a
// bare EINVAL). It is done once: a reload finds the same interface even
// if it was renamed.
func (d *netDevice) resolve() error {
	if d.resolved {
		return nil
	}
	if d.name == "" {
		if err := interfaceExists(d.ifindex); err != nil {
			return err
		}
	} else {
		index, err := interfaceIndex(d.name)
		if err != nil {
			return err
		}
		if d.ifindex != 0 && d.ifindex != index {
			return fmt.Errorf("interface %s has index %d, not %d: %w", d.name, index, d.ifindex, unix.EINVAL)
		}
		d.ifindex = index
	}
	d.resolved = true
	return nil
}

// interfaceIndex asks the calling thread's network namespace for the
// index of the interface named name (SIOCGIFINDEX).
func interfaceIndex(name string) (int, error) {
	req, err := unix.NewIfreq(name)
	if err != nil {
		return 0, fmt.Errorf("interface name %q: %w", name, err)
	}
	if err := interfaceIoctl(unix.SIOCGIFINDEX, req); err != nil {
		if errors.Is(err, unix.ENODEV) {
			return 0, fmt.Errorf("no such interface %s: %w", name, err)
		}
		return 0, fmt.Errorf("interface %s: %w", name, err)
	}
	return int(req.Uint32()), nil
}

// interfaceExists checks that the calling thread's network namespace has
// an interface of that index (SIOCGIFNAME).
func interfaceExists(ifindex int) error {
	req, err := unix.NewIfreq("")
	if err != nil {
		return err
	}
	req.SetUint32(uint32(ifindex))
	if err := interfaceIoctl(unix.SIOCGIFNAME, req); err != nil {
		if errors.Is(err, unix.ENODEV) {
			return fmt.Errorf("no interface with index %d: %w", ifindex, err)
		}
		return fmt.Errorf("interface index %d: %w", ifindex, err)
	}
	return nil
}

// interfaceIoctl asks the calling thread's network namespace about an
// interface.
func interfaceIoctl(req uint, ifr *unix.Ifreq) error {
	sock, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(sock)
	return unix.IoctlIfreq(sock, req, ifr)
}

// deviceLinkAttacher attaches a program on an interface with a BPF link
// that can switch programs in place; hook names it in errors ("tcx
// ingress"), and explain says what a bare errno cannot.
func deviceLinkAttacher(hook string, d *netDevice, attachType uint32, explain func(error) error) func(int) (attachment, error) {
	return func(progFD int) (attachment, error) {
		fd, err := d.link(progFD, attachType)
		if err != nil {
			if explain != nil {
				err = explain(err)
			}
			return attachment{}, fmt.Errorf("attach %s on %s: %w", hook, d, err)
		}
		return attachment{fd: fd, update: linkUpdater(fd)}, nil
	}
}
