package bpf

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
)

// TestXDPAttachVeth sends UDP packets over a veth pair between two
// namespaces the test makes; the xdp program on the receiving end counts
// each one while its link is open, and none after Close.
func TestXDPAttachVeth(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	v := newVethPair(t)
	obj := loadAttachNet(t, "xdp_count")
	prog := obj.Program("xdp_count")

	link, err := prog.AttachWith(AttachOptions{Interface: v.ifaceB, Netns: v.b.path})
	must(t, err)
	requireLinkType(t, link, uapi.LinkTypeXDP, prog)
	if link.Kind != "xdp" || !strings.Contains(link.Target, v.ifaceB) {
		t.Errorf("link %q on %q, want xdp on %s", link.Kind, link.Target, v.ifaceB)
	}

	rx := v.b.udpReceiver(t, v.addrB)
	tx := v.a.socket(t, unix.AF_INET, unix.SOCK_DGRAM)
	warmPath(t, tx, rx, v.addrB)
	base := netCount(t, obj, countXDP)
	if base == 0 {
		t.Errorf("xdp saw none of the probes that reached the receiver")
	}
	sendSeq(t, tx, v.addrB, 0, 10)
	recvSeq(t, rx, 10)
	if got := netCount(t, obj, countXDP) - base; got != 10 {
		t.Errorf("xdp saw %d packets, want 10", got)
	}

	must(t, link.Close())
	sendSeq(t, tx, v.addrB, 10, 5)
	recvSeq(t, rx, 5)
	if got := netCount(t, obj, countXDP) - base; got != 10 {
		t.Errorf("xdp saw %d packets after Close, want still 10", got)
	}
}

// TestXDPAttachErrors: a plain "xdp" section names no interface, and a
// missing interface is named.
func TestXDPAttachErrors(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	ns := newTestNetns(t)
	obj := loadAttachNet(t, "xdp_count")
	prog := obj.Program("xdp_count")

	_, err := prog.Attach()
	if !errors.Is(err, ErrAttachTargetMissing) || !strings.Contains(err.Error(), "--iface") {
		t.Errorf("Attach without an interface: %v, want ErrAttachTargetMissing naming --iface", err)
	}
	_, err = prog.AttachWith(AttachOptions{Interface: "nosuch0", Netns: ns.path})
	if !errors.Is(err, unix.ENODEV) || !strings.Contains(err.Error(), "no such interface nosuch0") {
		t.Errorf("Attach to a missing interface: %v, want ENODEV naming it", err)
	}
	_, err = prog.AttachWith(AttachOptions{Ifindex: 9999, Netns: ns.path})
	if !errors.Is(err, unix.ENODEV) || !strings.Contains(err.Error(), "index 9999") {
		t.Errorf("Attach to a missing ifindex: %v, want ENODEV naming it", err)
	}
	_, err = prog.AttachWith(AttachOptions{Interface: "lo", Ifindex: 9999, Netns: ns.path})
	if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "not 9999") {
		t.Errorf("Attach to lo with another interface's index: %v, want EINVAL", err)
	}
	_, err = prog.AttachWith(AttachOptions{Interface: "lo", Netns: "/proc/self/ns/mnt"})
	if err == nil || !strings.Contains(err.Error(), "not a network namespace") {
		t.Errorf("Attach in a mount namespace: %v, want 'not a network namespace'", err)
	}
}

// TestXDPLinkUpdate switches an xdp link to another program with
// Link.Update: packets before count for the first, packets after for the
// second.
func TestXDPLinkUpdate(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	ns := newTestNetns(t)
	obj := loadAttachNet(t, "xdp_count", "xdp_other")
	first, other := obj.Program("xdp_count"), obj.Program("xdp_other")

	link, err := first.AttachWith(AttachOptions{Interface: "lo", Netns: ns.path})
	must(t, err)
	defer link.Close()
	rx := ns.udpReceiver(t, loopback)
	tx := ns.socket(t, unix.AF_INET, unix.SOCK_DGRAM)

	sendSeq(t, tx, loopback, 0, 5)
	recvSeq(t, rx, 5)
	must(t, link.Update(other))
	requireLinkType(t, link, uapi.LinkTypeXDP, other)
	sendSeq(t, tx, loopback, 5, 7)
	recvSeq(t, rx, 7)
	if a, b := netCount(t, obj, countXDP), netCount(t, obj, countXDPOther); a != 5 || b != 7 {
		t.Errorf("xdp_count saw %d, xdp_other %d; want 5 before the update and 7 after", a, b)
	}
}
