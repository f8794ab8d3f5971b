package bpf

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
)

func init() {
	registerAttacher(attachXDP, "xdp", "xdp.frags")
}

// attachXDP attaches an xdp program to an interface with a BPF_XDP link
// (Linux 5.9), which a reload updates in place. The kernel chooses the
// mode: native where the driver has it, generic (skb) elsewhere, as for
// lo and most virtual devices.
func attachXDP(p *Program, progFD int, opts *AttachOptions) (*Link, error) {
	d, err := netDeviceOf(p, opts)
	if err != nil {
		return nil, err
	}
	open := deviceLinkAttacher("xdp", d, uapi.AttachXDP, explainXDP)
	return attachWith("xdp", d.String(), progFD, open)
}

// explainXDP says why an XDP link was refused where the errno alone would
// not.
func explainXDP(err error) error {
	if errors.Is(err, unix.EBUSY) || errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("%w (the interface has an XDP program attached another way, by netlink or another link)", err)
	}
	return err
}
