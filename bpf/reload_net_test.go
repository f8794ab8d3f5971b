package bpf

import (
	"encoding/binary"
	"errors"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
)

// TestXDPGaplessReload and TestTCXGaplessReload send UDP packets numbered
// 0, 1, 2... over lo in a namespace the test makes, while the program
// marking seen[n] on lo is reloaded 100 times: its link is updated in
// place (BPF_LINK_UPDATE), so every packet must be marked.
func TestXDPGaplessReload(t *testing.T) {
	testGaplessNetReload(t, "xdp_count", uapi.LinkTypeXDP)
}

func TestTCXGaplessReload(t *testing.T) {
	testGaplessNetReload(t, "tcx_ingress", uapi.LinkTypeTCX)
}

func testGaplessNetReload(t *testing.T, progName string, linkType uint32) {
	requireKernel(t)
	checkNoLeak(t)
	ns := newTestNetns(t)
	obj := loadAttachNet(t, progName)
	prog := obj.Program(progName)
	link, err := prog.AttachWith(AttachOptions{Interface: "lo", Netns: ns.path})
	must(t, err)
	defer link.Close()

	rx := ns.udpReceiver(t, loopback)
	must(t, unix.SetsockoptInt(rx, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 16<<20))
	tx := ns.socket(t, unix.AF_INET, unix.SOCK_DGRAM)
	received := receiveAll(t, rx)

	// Each reload runs beside a burst of packets, so that bursts span
	// the moments the link switches.
	const reloads, burst = 100, 400
	n := 0
	for range reloads {
		sent := make(chan error, 1)
		go func(first int) { sent <- trySendSeq(tx, loopback, first, burst) }(n)
		must(t, prog.Reload())
		must(t, <-sent)
		n += burst
	}
	got := received(n)

	// A packet marked nowhere but received went past an empty hook; one
	// neither marked nor received was dropped before the hook (a full
	// backlog), which says nothing of the reload but is not expected
	// either.
	seen := obj.Map("seen")
	value := make([]byte, 1)
	var gaps, lost []int
	for k := range n {
		must(t, seen.Lookup(u32(uint32(k)), value))
		switch {
		case value[0] == 1:
		case got[k]:
			gaps = append(gaps, k)
		default:
			lost = append(lost, k)
		}
	}
	if len(gaps) > 0 {
		t.Errorf("%d of %d packets passed lo unmarked during %d reloads, first %d", len(gaps), n, reloads, gaps[0])
	}
	if len(lost) > 0 {
		t.Errorf("%d of %d packets were neither marked nor received, first %d", len(lost), n, lost[0])
	}
	if len(gaps)+len(lost) == 0 {
		t.Logf("%d packets, all marked, across %d reloads", n, reloads)
	}

	// The link runs the instance Program.FD is now.
	requireLinkType(t, link, linkType, prog)
}

// receiveAll reads datagrams from fd in the background; the function it
// returns waits until n arrived (or none came for a while) and says which
// sequence numbers did.
func receiveAll(t *testing.T, fd int) func(n int) []bool {
	t.Helper()
	must(t, unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 500000}))
	var (
		mu    sync.Mutex
		seen  = make([]bool, seqLimit)
		count int
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		buf := make([]byte, 64)
		for {
			size, _, err := unix.Recvfrom(fd, buf, 0)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil { // a timeout: the sender is done
				return
			}
			if size < 4 {
				continue
			}
			if k := binary.NativeEndian.Uint32(buf); k < seqLimit {
				mu.Lock()
				if !seen[k] {
					seen[k] = true
					count++
				}
				mu.Unlock()
			}
		}
	}()
	return func(n int) []bool {
		<-done
		mu.Lock()
		defer mu.Unlock()
		if count < n {
			t.Logf("received %d of %d packets", count, n)
		}
		return seen
	}
}

// seqLimit is SEQ_MAX of attach_net.c.
const seqLimit = 65536
