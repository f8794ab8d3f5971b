package bpf

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
)

func init() {
	registerAttacher(attachTCX, "tc/ingress", "tc/egress", "tcx/ingress", "tcx/egress", "tc", "classifier")
}

// attachTCX attaches a sched_cls program to an interface's ingress or
// egress with a TCX link (Linux 6.6): a list of programs the kernel runs
// in order, each a link a reload updates in place. The direction comes
// from the section ("tcx/egress"); sections without one ("tc",
// "classifier") attach at ingress unless AttachOptions.Target says
// "egress". Legacy tc filters through netlink are not made.
func attachTCX(p *Program, progFD int, opts *AttachOptions) (*Link, error) {
	attachType, err := tcxDirection(p, opts.Target)
	if err != nil {
		return nil, err
	}
	d, err := netDeviceOf(p, opts)
	if err != nil {
		return nil, err
	}
	dir := "ingress"
	if attachType == uapi.AttachTCXEgress {
		dir = "egress"
	}
	open := deviceLinkAttacher("tcx "+dir, d, attachType, explainTCX)
	return attachWith("tcx", d.String()+" "+dir, progFD, open)
}

// tcxDirection is the attach type of a tc program: its section's, else
// the one Target names, else ingress.
func tcxDirection(p *Program, target string) (uint32, error) {
	switch t := p.spec.Kind.ExpectedAttachType; t {
	case uapi.AttachTCXIngress, uapi.AttachTCXEgress:
		return t, nil
	}
	switch target {
	case "", "ingress":
		return uapi.AttachTCXIngress, nil
	case "egress":
		return uapi.AttachTCXEgress, nil
	}
	return 0, fmt.Errorf("section %s: tc direction %q is neither ingress nor egress", p.Section(), target)
}

// explainTCX names the feature a kernel before 6.6 lacks: it refuses
// the TCX attach types as unknown.
func explainTCX(err error) error {
	if errors.Is(err, unix.EINVAL) {
		return hookUnavailable("TCX links, Linux 6.6", err)
	}
	return err
}
