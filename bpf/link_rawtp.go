package bpf

import (
	"fmt"

	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/syscall"
)

func init() {
	registerAttacher(attachRawTracepoint, "raw_tp", "raw_tracepoint", "raw_tp.w", "raw_tracepoint.w", "raw_tp.s", "raw_tracepoint.s")
	registerAttacher(attachBTFTracepoint, "tp_btf", "tp_btf.s")
}

// attachRawTracepoint attaches to the raw tracepoint the section or
// Target names, with BPF_RAW_TRACEPOINT_OPEN. Such links cannot switch
// programs: a reload attaches the new instance before closing the old.
func attachRawTracepoint(p *Program, progFD int, opts *AttachOptions) (*Link, error) {
	name := p.spec.Kind.AttachTo
	if opts.Target != "" {
		name = opts.Target
	}
	if name == "" {
		return nil, fmt.Errorf("section %s names no tracepoint (raw_tp/NAME), and no Target was given", p.Section())
	}
	open := func(progFD int) (attachment, error) {
		fd, err := syscall.RawTracepointOpen(name, progFD)
		if err != nil {
			return attachment{}, fmt.Errorf("attach to raw tracepoint %s: %w", name, err)
		}
		return attachment{fd: fd}, nil
	}
	return attachWith("raw_tracepoint", name, progFD, open)
}

// attachBTFTracepoint attaches a tp_btf program, whose tracepoint was
// fixed at load by its attach_btf_id.
func attachBTFTracepoint(p *Program, progFD int, _ *AttachOptions) (*Link, error) {
	name := p.spec.Kind.AttachTo
	open := func(progFD int) (attachment, error) {
		fd, err := syscall.RawTracepointOpen("", progFD)
		if err != nil {
			return attachment{}, fmt.Errorf("attach to BTF tracepoint %s: %w", name, err)
		}
		return attachment{fd: fd}, nil
	}
	return attachWith("tp_btf", name, progFD, open)
}

// attachWith makes a Link from a function that attaches one program
// instance, which is also how a reload attaches the next.
func attachWith(kind, target string, progFD int, open func(progFD int) (attachment, error)) (*Link, error) {
	att, err := open(progFD)
	if err != nil {
		return nil, err
	}
	att.again = open
	return newLink(kind, target, att), nil
}

// linkTypeName names a BPF_LINK_TYPE_* for a pinned link's Kind.
func linkTypeName(t uint32) string { return uapi.LinkTypeName(t) }
