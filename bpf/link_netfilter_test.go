package bpf

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
)

// TestNetfilterLocalOut counts the datagrams leaving a namespace the test
// makes at NF_INET_LOCAL_OUT, before and after a reload, which attaches
// the new instance before closing the old link.
func TestNetfilterLocalOut(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	ns := newTestNetns(t)
	obj := loadAttachNet(t, "netfilter_count")
	prog := obj.Program("netfilter_count")

	if _, err := prog.Attach(); !errors.Is(err, ErrAttachTargetMissing) {
		t.Errorf("netfilter without a hook: %v, want ErrAttachTargetMissing", err)
	}
	hook := NetfilterHook{ProtocolFamily: NFProtoIPv4, Hook: NFInetLocalOut, Priority: -100}
	link, err := prog.AttachWith(AttachOptions{Netfilter: hook, Netns: ns.path})
	must(t, err)
	defer link.Close()
	requireLinkType(t, link, uapi.LinkTypeNetfilter, prog)
	if !strings.Contains(link.Target, "ipv4 output priority -100") {
		t.Errorf("netfilter link on %q", link.Target)
	}

	rx := ns.udpReceiver(t, loopback)
	tx := ns.socket(t, unix.AF_INET, unix.SOCK_DGRAM)
	sendSeq(t, tx, loopback, 0, 7)
	recvSeq(t, rx, 7)
	if got := netCount(t, obj, countNetfilter); got != 7 {
		t.Errorf("netfilter saw %d packets, want 7", got)
	}

	must(t, prog.Reload())
	requireLinkType(t, link, uapi.LinkTypeNetfilter, prog)
	sendSeq(t, tx, loopback, 7, 3)
	recvSeq(t, rx, 3)
	if got := netCount(t, obj, countNetfilter); got != 10 {
		t.Errorf("netfilter saw %d packets after a reload, want 10", got)
	}
	// The reload left the link at its priority, and the stepping link
	// one later is gone: no two BPF programs can share a priority.
	_, err = prog.AttachWith(AttachOptions{Netfilter: hook, Netns: ns.path})
	if !errors.Is(err, unix.EBUSY) || !strings.Contains(err.Error(), "another BPF program has this priority") {
		t.Errorf("a second program at priority -100: %v, want EBUSY explained", err)
	}
	next := hook
	next.Priority++
	beside, err := prog.AttachWith(AttachOptions{Netfilter: next, Netns: ns.path})
	must(t, err)
	must(t, beside.Close())

	if err := link.Update(prog); !errors.Is(err, ErrNotUpdatable) {
		t.Errorf("Update of a netfilter link: %v, want ErrNotUpdatable", err)
	}

	must(t, link.Close())
	sendSeq(t, tx, loopback, 10, 3)
	recvSeq(t, rx, 3)
	if got := netCount(t, obj, countNetfilter); got != 10 {
		t.Errorf("netfilter saw %d packets after Close, want still 10", got)
	}
}
