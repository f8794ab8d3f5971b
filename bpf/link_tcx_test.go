package bpf

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
)

// TestTCXAttachVeth sends UDP packets over a veth pair: tcx/egress counts
// them leaving veth0, tcx/ingress and a plain "tc" program (attached at
// ingress) count them entering veth1.
func TestTCXAttachVeth(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	v := newVethPair(t)
	obj := loadAttachNet(t, "tcx_ingress", "tcx_egress", "tc_plain")

	attach := []struct {
		prog, iface string
		ns          testNS
		dir         string
	}{
		{"tcx_ingress", v.ifaceB, v.b, "ingress"},
		{"tc_plain", v.ifaceB, v.b, "ingress"},
		{"tcx_egress", v.ifaceA, v.a, "egress"},
	}
	for _, a := range attach {
		prog := obj.Program(a.prog)
		link, err := prog.AttachWith(AttachOptions{Interface: a.iface, Netns: a.ns.path})
		must(t, err)
		defer link.Close()
		requireLinkType(t, link, uapi.LinkTypeTCX, prog)
		if link.Kind != "tcx" || !strings.HasSuffix(link.Target, a.dir) {
			t.Errorf("%s: link %q on %q, want tcx at %s", a.prog, link.Kind, link.Target, a.dir)
		}
	}

	rx := v.b.udpReceiver(t, v.addrB)
	tx := v.a.socket(t, unix.AF_INET, unix.SOCK_DGRAM)
	sendSeq(t, tx, v.addrB, 0, 10)
	recvSeq(t, rx, 10)
	for _, c := range []struct {
		name    string
		counter uint32
	}{{"tcx_ingress", countTCXIngress}, {"tc_plain", countTC}, {"tcx_egress", countTCXEgress}} {
		if got := netCount(t, obj, c.counter); got != 10 {
			t.Errorf("%s saw %d packets, want 10", c.name, got)
		}
	}
}

// TestTCXDirection: a "tc" section takes its direction from Target.
func TestTCXDirection(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	ns := newTestNetns(t)
	obj := loadAttachNet(t, "tc_plain")
	prog := obj.Program("tc_plain")

	link, err := prog.AttachWith(AttachOptions{Interface: "lo", Netns: ns.path, Target: "egress"})
	must(t, err)
	defer link.Close()
	if !strings.HasSuffix(link.Target, "egress") {
		t.Errorf("tc with Target egress attached on %q", link.Target)
	}
	rx := ns.udpReceiver(t, loopback)
	tx := ns.socket(t, unix.AF_INET, unix.SOCK_DGRAM)
	sendSeq(t, tx, loopback, 0, 3)
	recvSeq(t, rx, 3)
	if got := netCount(t, obj, countTC); got != 3 {
		t.Errorf("tc at lo egress saw %d packets, want 3", got)
	}

	if _, err := prog.AttachWith(AttachOptions{Interface: "lo", Netns: ns.path, Target: "sideways"}); err == nil || !strings.Contains(err.Error(), "neither ingress nor egress") {
		t.Errorf("tc direction sideways: %v", err)
	}
}
