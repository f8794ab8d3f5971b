package bpf

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/syscall"
)

func init() {
	registerAttacher(attachTracing, "fentry", "fentry.s", "fexit", "fexit.s", "fmod_ret", "fmod_ret.s",
		"lsm", "lsm.s", "freplace")
}

// attachTracing attaches a program whose target was fixed at load by its
// attach_btf_id (fentry, fexit, fmod_ret, lsm) or attach_prog_fd
// (freplace, see SetAttachTarget): BPF_LINK_CREATE with the program's
// expected attach type, which makes the kernel's trampoline call it, or
// BPF_RAW_TRACEPOINT_OPEN on kernels without tracing links (before 5.10).
// Such links cannot switch programs in place: a reload attaches the new
// instance before closing the old, both running for that moment.
func attachTracing(p *Program, progFD int, opts *AttachOptions) (*Link, error) {
	kind := p.spec.Kind
	if opts.Target != "" && opts.Target != kind.AttachTo {
		return nil, fmt.Errorf("the target of %s programs is fixed at load (%s), not chosen at attach (%s)", kind.Convention, kind.AttachTo, opts.Target)
	}
	p.obj.mu.Lock()
	target := p.attach
	p.obj.mu.Unlock()
	desc := target.name
	if desc == "" {
		desc = kind.AttachTo
	}
	cookie := opts.Cookie
	open := func(progFD int) (attachment, error) {
		attr := tracingLinkAttr(kind.Type, kind.ExpectedAttachType, progFD, cookie)
		fd, err := syscall.LinkCreate(&attr)
		if errors.Is(err, unix.EINVAL) && cookie == 0 {
			// A kernel without tracing links attaches through
			// raw_tracepoint_open; a newer one says EINVAL there too.
			if rfd, rerr := syscall.RawTracepointOpen("", progFD); rerr == nil {
				fd, err = rfd, nil
			}
		}
		if err != nil {
			return attachment{}, fmt.Errorf("attach %s to %s (BTF id %d): %w", kind.Convention, desc, target.btfID, err)
		}
		return attachment{fd: fd}, nil
	}
	return attachWith(tracingKind(kind.Convention), desc, progFD, open)
}

// tracingLinkAttr is the BPF_LINK_CREATE of a tracing, LSM or extension
// program: no target (it was given at load), the program's expected
// attach type (0 for extensions) and the cookie bpf_get_attach_cookie
// returns (Linux 6.0).
func tracingLinkAttr(progType, attachType uint32, progFD int, cookie uint64) syscall.LinkCreateAttr {
	if progType == uapi.ProgTypeExt {
		attachType = 0
	}
	attr := syscall.LinkCreateAttr{ProgFD: uint32(progFD), AttachType: attachType}
	attr.Tracing().Cookie = cookie
	return attr
}

// tracingKind names a tracing link's Kind by its convention without the
// sleepable suffix.
func tracingKind(conv string) string {
	switch conv {
	case "fentry.s":
		return "fentry"
	case "fexit.s":
		return "fexit"
	case "fmod_ret.s":
		return "fmod_ret"
	case "lsm.s":
		return "lsm"
	}
	return conv
}
