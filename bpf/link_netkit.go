package bpf

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
)

func init() {
	registerAttacher(attachNetkit, "netkit/primary", "netkit/peer")
}

// attachNetkit attaches a program to a netkit device (Linux 6.7), on its
// primary or its peer side, with a link a reload updates in place. The
// interface is the primary device either way.
func attachNetkit(p *Program, progFD int, opts *AttachOptions) (*Link, error) {
	d, err := netDeviceOf(p, opts)
	if err != nil {
		return nil, err
	}
	attachType := p.spec.Kind.ExpectedAttachType
	side := "primary"
	if attachType == uapi.AttachNetkitPeer {
		side = "peer"
	}
	explain := func(err error) error { return explainNetkit(d, err) }
	open := deviceLinkAttacher("netkit "+side, d, attachType, explain)
	return attachWith("netkit", d.String()+" "+side, progFD, open)
}

// explainNetkit tells a kernel without netkit, which refuses the attach
// type with EINVAL, from an interface that is not a netkit device (ENXIO).
func explainNetkit(d *netDevice, err error) error {
	switch {
	case errors.Is(err, unix.ENXIO):
		return fmt.Errorf("%s is not a netkit device: %w", d, err)
	case errors.Is(err, unix.EINVAL) && !kernelHasNetkit():
		return hookUnavailable("netkit, Linux 6.7: CONFIG_NETKIT is not set", err)
	}
	return err
}

// kernelHasNetkit reports whether the kernel's config has netkit. A
// kernel whose config cannot be read is given the benefit of the doubt.
func kernelHasNetkit() bool {
	config, err := kernelConfig()
	return err != nil || config["CONFIG_NETKIT"] == "y"
}
