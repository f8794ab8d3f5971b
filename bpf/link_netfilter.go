package bpf

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/syscall"
)

func init() {
	registerAttacher(attachNetfilter, "netfilter")
}

// Protocol families and hooks of NetfilterHook (include/uapi/linux/netfilter.h).
const (
	NFProtoIPv4 = 2  // NFPROTO_IPV4
	NFProtoIPv6 = 10 // NFPROTO_IPV6

	NFInetPreRouting  = 0 // NF_INET_PRE_ROUTING
	NFInetLocalIn     = 1 // NF_INET_LOCAL_IN
	NFInetForward     = 2 // NF_INET_FORWARD
	NFInetLocalOut    = 3 // NF_INET_LOCAL_OUT
	NFInetPostRouting = 4 // NF_INET_POST_ROUTING
)

// attachNetfilter attaches a netfilter program at the hook
// AttachOptions.Netfilter names, in the network namespace
// AttachOptions.Netns names (else the process's own), with a netfilter
// link (Linux 6.4). Such links cannot switch programs, and the kernel
// lets no two BPF programs share a hook's priority: a reload moves the
// hook in three steps (see replace), never leaving it empty.
func attachNetfilter(p *Program, progFD int, opts *AttachOptions) (*Link, error) {
	hook := opts.Netfilter
	if hook.ProtocolFamily == 0 {
		return nil, targetMissing(p, needsNetfilter)
	}
	a := &nfAttacher{hook: hook, netns: opts.Netns, current: -1}
	a.target = fmt.Sprintf("%s %s priority %d", nfProtoName(hook.ProtocolFamily), nfHookName(hook.Hook), hook.Priority)
	if a.netns != "" {
		a.target += " (" + netnsName(a.netns) + ")"
	}
	return attachWith("netfilter", a.target, progFD, a.open)
}

// nfAttacher attaches instances of one program at one netfilter hook.
type nfAttacher struct {
	hook   NetfilterHook
	netns  string
	target string
	// current is the link that holds the hook's priority, -1 before the
	// first; a Link's attachment owns it, this only detaches it.
	current int
}

// open attaches progFD at the hook: at its priority, or, where this
// Link's running instance holds it, in its place.
func (a *nfAttacher) open(progFD int) (attachment, error) {
	fd, err := a.create(progFD, a.hook.Priority)
	if errors.Is(err, unix.EBUSY) && a.current >= 0 {
		fd, err = a.replace(progFD)
	}
	if err != nil {
		return attachment{}, fmt.Errorf("attach netfilter at %s: %w", a.target, a.explain(err))
	}
	a.current = fd
	return attachment{fd: fd}, nil
}

// replace attaches progFD at the priority the running link holds: first
// beside it, one priority later (or earlier), then the running link is
// detached and progFD attached at the priority, and the stepping link
// closed. For a moment a packet may meet both instances; never neither.
// Should the last attach fail, the stepping link stays, one priority off.
func (a *nfAttacher) replace(progFD int) (int, error) {
	prio := a.hook.Priority
	step, err := a.create(progFD, prio+1)
	if errors.Is(err, unix.EBUSY) || errors.Is(err, unix.ERANGE) {
		step, err = a.create(progFD, prio-1)
	}
	if err != nil {
		return -1, err
	}
	if err := syscall.LinkDetach(a.current); err != nil {
		unix.Close(step)
		return -1, fmt.Errorf("detaching the running instance: %w", err)
	}
	fd, err := a.create(progFD, prio)
	if err != nil {
		return step, nil
	}
	unix.Close(step)
	return fd, nil
}

// create makes a netfilter link at priority, in the namespace: the kernel
// registers the hook in the namespace of the calling thread.
func (a *nfAttacher) create(progFD int, priority int32) (int, error) {
	attr := syscall.LinkCreateAttr{ProgFD: uint32(progFD), AttachType: uapi.AttachNetfilter}
	*attr.Netfilter() = syscall.LinkNetfilter{PF: a.hook.ProtocolFamily, Hooknum: a.hook.Hook, Priority: priority}
	fd := -1
	err := withNetns(a.netns, func() error {
		var err error
		fd, err = syscall.LinkCreate(&attr)
		return err
	})
	return fd, err
}

// explain says what a bare errno cannot.
func (a *nfAttacher) explain(err error) error {
	switch {
	case errors.Is(err, unix.EBUSY):
		return fmt.Errorf("%w (another BPF program has this priority at this hook)", err)
	case errors.Is(err, unix.ERANGE):
		return fmt.Errorf("%w (priorities NF_IP_PRI_FIRST and NF_IP_PRI_LAST are reserved)", err)
	case errors.Is(err, unix.EINVAL) && !kernelHasNetfilterLink():
		return hookUnavailable("netfilter links, Linux 6.4: CONFIG_NETFILTER_BPF_LINK is not set", err)
	}
	return err
}

func nfProtoName(pf uint32) string {
	switch pf {
	case NFProtoIPv4:
		return "ipv4"
	case NFProtoIPv6:
		return "ipv6"
	}
	return fmt.Sprintf("pf(%d)", pf)
}

func nfHookName(hook uint32) string {
	names := []string{"prerouting", "input", "forward", "output", "postrouting"}
	if hook < uint32(len(names)) {
		return names[hook]
	}
	return fmt.Sprintf("hook(%d)", hook)
}

// kernelHasNetfilterLink reports whether the kernel's config has
// netfilter links; a config that cannot be read says nothing against.
func kernelHasNetfilterLink() bool {
	config, err := kernelConfig()
	return err != nil || config["CONFIG_NETFILTER_BPF_LINK"] == "y"
}
