package bpf

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/syscall"
)

func init() {
	registerAttacher(attachNetns, "sk_lookup", "flow_dissector")
}

// attachNetns attaches an sk_lookup or flow_dissector program to a
// network namespace (AttachOptions.Netns, else the process's own) with a
// netns link (Linux 5.8 and 5.9), which a reload updates in place. A
// namespace has at most one flow dissector.
func attachNetns(p *Program, progFD int, opts *AttachOptions) (*Link, error) {
	path := opts.Netns
	attachType := p.spec.Kind.ExpectedAttachType
	kind := uapi.AttachTypeName(attachType)
	open := func(progFD int) (attachment, error) {
		ns, err := openNetns(path)
		if err != nil {
			return attachment{}, fmt.Errorf("attach %s: %w", kind, err)
		}
		defer unix.Close(ns)
		attr := syscall.LinkCreateAttr{ProgFD: uint32(progFD), TargetFD: uint32(ns), AttachType: attachType}
		fd, err := syscall.LinkCreate(&attr)
		if err != nil {
			if attachType == uapi.AttachFlowDissector && (errors.Is(err, unix.E2BIG) || errors.Is(err, unix.EEXIST)) {
				err = fmt.Errorf("%w (the namespace has a flow dissector already)", err)
			}
			return attachment{}, fmt.Errorf("attach %s to %s: %w", kind, netnsName(path), err)
		}
		return attachment{fd: fd, update: linkUpdater(fd)}, nil
	}
	return attachWith(kind, netnsName(path), progFD, open)
}
