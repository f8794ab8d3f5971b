package bpf

import (
	"errors"
	"fmt"

	"github.com/rawload/rawload/internal/kernel"
)

// ErrAttachTargetMissing is returned by Attach for a program whose section
// cannot say where it attaches (a plain "xdp" names no interface, a
// "cgroup/connect4" no cgroup) when AttachOptions do not say it either.
// `rawload run` reports such programs as having nothing to attach to.
var ErrAttachTargetMissing = errors.New("no attach target")

// ErrHookUnavailable is returned by Attach where the running kernel lacks
// the hook: too old for it, or built without it. The error says which
// kernel feature is missing; the kernel's errno is wrapped beside it.
var ErrHookUnavailable = errors.New("the kernel lacks this hook")

// Where each kind of target comes from, for the errors that say it is
// missing: the AttachOptions field, and the flag of `rawload run`.
const (
	needsInterface = "an interface (AttachOptions.Interface, --iface)"
	needsCgroup    = "a cgroup v2 directory (AttachOptions.Cgroup, --cgroup)"
	needsSocket    = "a socket (AttachOptions.Socket)"
	needsSockMap   = "a sockmap or sockhash (AttachOptions.Map)"
	needsNetfilter = "a netfilter hook (AttachOptions.Netfilter)"
)

// targetMissing says what a program's section cannot name.
func targetMissing(p *Program, needs string) error {
	return fmt.Errorf("%w: section %s needs %s", ErrAttachTargetMissing, p.Section(), needs)
}

// hookUnavailable says that the kernel lacks a hook, keeping its errno.
func hookUnavailable(what string, err error) error {
	return fmt.Errorf("%w (%s): %w", ErrHookUnavailable, what, err)
}

// kernelConfig is the running kernel's configuration, to tell a kernel
// built without a hook from a refusal with the same errno.
func kernelConfig() (map[string]string, error) { return kernel.System().KernelConfig() }
