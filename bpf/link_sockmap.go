package bpf

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/syscall"
)

func init() {
	registerAttacher(attachSockMap, "sk_msg", "sk_skb", "sk_skb/stream_parser", "sk_skb/stream_verdict", "sk_skb/verdict")
}

// attachSockMap attaches an sk_msg or sk_skb program to the sockmap or
// sockhash AttachOptions.Map with BPF_PROG_ATTACH. It is not a BPF link:
// the Link holds the map and the program instance, and detaches with
// BPF_PROG_DETACH on Close. Attaching another instance replaces the
// map's program in one step, which is how a reload moves it.
//
// The kernel gives a socket the map's programs when the socket is added
// to the map: attach before adding sockets, and know that sockets already
// in the map keep running the instance they were added under, across
// reloads too.
func attachSockMap(p *Program, progFD int, opts *AttachOptions) (*Link, error) {
	m := opts.Map
	if m == nil {
		return nil, targetMissing(p, needsSockMap)
	}
	if t := m.spec.Type; t != uapi.MapTypeSockMap && t != uapi.MapTypeSockHash {
		return nil, fmt.Errorf("map %s is a %s map, not a sockmap or sockhash: %w", m.Name(), uapi.MapTypeName(t), unix.EINVAL)
	}
	attachType, err := sockMapAttachType(p, opts.Target)
	if err != nil {
		return nil, err
	}
	name := uapi.AttachTypeName(attachType)
	target := fmt.Sprintf("map %s %s", m.Name(), name)
	if !m.Live() {
		return nil, fmt.Errorf("attach %s: map %s: %w (no loaded program uses it: Map.Create makes it)", name, m.Name(), ErrMapNotLive)
	}
	mapFD, err := m.DupFD()
	if err != nil {
		return nil, fmt.Errorf("attach %s: %w", name, err)
	}
	// The program is detached by naming it: the Link keeps an fd of the
	// instance attached, which Program.Unload or a reload would close.
	attached := -1
	attach := func(progFD int) error {
		ref, err := unix.FcntlInt(uintptr(progFD), unix.F_DUPFD_CLOEXEC, 3)
		if err != nil {
			return err
		}
		if err := syscall.ProgAttach(mapFD, ref, attachType, 0); err != nil {
			unix.Close(ref)
			if errors.Is(err, unix.EBUSY) {
				err = fmt.Errorf("%w (the map has a conflicting sk_skb program: verdict and stream_verdict exclude each other)", err)
			}
			return err
		}
		if attached >= 0 {
			unix.Close(attached)
		}
		attached = ref
		return nil
	}
	if err := attach(progFD); err != nil {
		unix.Close(mapFD)
		return nil, fmt.Errorf("attach %s to map %s: %w", name, m.Name(), err)
	}
	att := attachment{
		fd:   -1,
		held: []int{mapFD},
		detach: func() error {
			err := syscall.ProgDetach(mapFD, attached, attachType)
			unix.Close(attached)
			attached = -1
			if err != nil {
				return fmt.Errorf("detach %s from map %s: %w", name, m.Name(), err)
			}
			return nil
		},
		update: attach,
	}
	return newLink("sockmap", target, att), nil
}

// sockMapAttachType is the attach type a program's section gives it; a
// bare "sk_skb" takes Target ("stream_parser", "stream_verdict",
// "verdict"), else stream_verdict.
func sockMapAttachType(p *Program, target string) (uint32, error) {
	kind := p.spec.Kind
	if kind.Type == uapi.ProgTypeSKMsg || kind.ExpectedAttachType != 0 {
		return kind.ExpectedAttachType, nil
	}
	switch target {
	case "", "stream_verdict":
		return uapi.AttachSKSKBStreamVerdict, nil
	case "stream_parser":
		return uapi.AttachSKSKBStreamParser, nil
	case "verdict":
		return uapi.AttachSKSKBVerdict, nil
	}
	return 0, fmt.Errorf("section %s: %q is not an sk_skb attach point (stream_parser, stream_verdict, verdict)", p.Section(), target)
}
