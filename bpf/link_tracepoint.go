package bpf

import (
	"fmt"
	"strings"
)

func init() {
	registerAttacher(attachTracepoint, "tracepoint", "tp", "tracepoint.s", "tp.s")
}

// attachTracepoint attaches a tracepoint program to the trace event the
// section (tracepoint/GROUP/NAME, tp/GROUP/NAME) or Target ("GROUP/NAME"
// or "GROUP:NAME") names: the event's id from tracefs, a perf event of it
// (perf_event_open, PERF_TYPE_TRACEPOINT) and a BPF link on that. A
// reload attaches the new instance to a new perf event before the old
// one closes: both run for that moment, none is ever missing.
func attachTracepoint(p *Program, progFD int, opts *AttachOptions) (*Link, error) {
	target := p.spec.Kind.AttachTo
	if opts.Target != "" {
		target = opts.Target
	}
	if target == "" {
		return nil, targetMissing(p, "a tracepoint (GROUP/NAME in AttachOptions.Target)")
	}
	group, name, err := splitTracepoint(target)
	if err != nil {
		return nil, err
	}
	id, err := tracepointID(group, name)
	if err != nil {
		return nil, err
	}
	cookie := opts.Cookie
	open := func(progFD int) (attachment, error) {
		att, err := perfAttachment(progFD, cookie, func() (int, error) {
			fd, err := openTracepoint(id, -1)
			if err != nil {
				return -1, fmt.Errorf("perf_event_open of tracepoint %s/%s (id %d): %w", group, name, id, err)
			}
			return fd, nil
		})
		if err != nil {
			return attachment{}, fmt.Errorf("attach to tracepoint %s/%s: %w", group, name, err)
		}
		return att, nil
	}
	return attachWith("tracepoint", group+"/"+name, progFD, open)
}

// splitTracepoint reads "GROUP/NAME" (or "GROUP:NAME").
func splitTracepoint(target string) (group, name string, err error) {
	group, name, ok := strings.Cut(target, "/")
	if !ok {
		group, name, ok = strings.Cut(target, ":")
	}
	if !ok || group == "" || name == "" {
		return "", "", fmt.Errorf("tracepoint %q is not GROUP/NAME (tracepoint/syscalls/sys_enter_getpid)", target)
	}
	return group, name, nil
}
