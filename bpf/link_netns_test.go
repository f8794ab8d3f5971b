package bpf

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
)

// TestSkLookupNetns attaches an sk_lookup program to a namespace the test
// makes: every UDP datagram to netTestPort there looks up its socket
// through it, before and after a reload.
func TestSkLookupNetns(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	ns := newTestNetns(t)
	obj := loadAttachNet(t, "sk_lookup_count")
	prog := obj.Program("sk_lookup_count")

	link, err := prog.AttachWith(AttachOptions{Netns: ns.path})
	must(t, err)
	defer link.Close()
	requireLinkType(t, link, uapi.LinkTypeNetns, prog)

	rx := ns.udpReceiver(t, loopback)
	tx := ns.socket(t, unix.AF_INET, unix.SOCK_DGRAM)
	sendSeq(t, tx, loopback, 0, 6)
	recvSeq(t, rx, 6)
	must(t, prog.Reload())
	requireLinkType(t, link, uapi.LinkTypeNetns, prog)
	sendSeq(t, tx, loopback, 6, 4)
	recvSeq(t, rx, 4)
	if got := netCount(t, obj, countSkLookup); got != 10 {
		t.Errorf("sk_lookup saw %d lookups, want 10", got)
	}

	_, err = prog.AttachWith(AttachOptions{Netns: "/proc/self/ns/mnt"})
	if err == nil || !strings.Contains(err.Error(), "not a network namespace") {
		t.Errorf("sk_lookup on a mount namespace: %v", err)
	}
}

// TestFlowDissectorNetns attaches a flow dissector to a namespace the test
// makes, where lo spreads packets over CPUs by their hash (RPS), which the
// flow dissector computes: it runs for every datagram.
func TestFlowDissectorNetns(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	ns := newTestNetns(t)
	ns.exec(t, "echo 1 > /sys/class/net/lo/queues/rx-0/rps_cpus")
	obj := loadAttachNet(t, "flow_dissector_count")
	prog := obj.Program("flow_dissector_count")

	link, err := prog.AttachWith(AttachOptions{Netns: ns.path})
	must(t, err)
	defer link.Close()
	requireLinkType(t, link, uapi.LinkTypeNetns, prog)
	if link.Kind != "flow_dissector" {
		t.Errorf("link kind %q", link.Kind)
	}

	rx := ns.udpReceiver(t, loopback)
	tx := ns.socket(t, unix.AF_INET, unix.SOCK_DGRAM)
	sendSeq(t, tx, loopback, 0, 8)
	recvSeq(t, rx, 8)
	if got := netCount(t, obj, countFlowDissector); got < 8 {
		t.Errorf("flow dissector ran %d times for 8 datagrams", got)
	}
	must(t, prog.Reload())
	requireLinkType(t, link, uapi.LinkTypeNetns, prog)
}
