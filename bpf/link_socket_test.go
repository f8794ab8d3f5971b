package bpf

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSocketFilter sets a socket filter on a UDP socket: it counts each
// datagram the socket receives, keeps counting across a reload (which sets
// the new instance in one step), and stops at Close.
func TestSocketFilter(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	ns := newTestNetns(t)
	obj := loadAttachNet(t, "socket_count")
	prog := obj.Program("socket_count")
	rx := ns.udpReceiver(t, loopback)
	tx := ns.socket(t, unix.AF_INET, unix.SOCK_DGRAM)

	link, err := prog.AttachWith(AttachOptions{Socket: rx})
	must(t, err)
	defer link.Close()
	if link.FD() != -1 {
		t.Errorf("a socket filter's Link has fd %d, want -1: it is not a BPF link", link.FD())
	}
	if _, err := link.Info(); err == nil {
		t.Error("Info of a socket filter succeeded; it is not a BPF link")
	}

	sendSeq(t, tx, loopback, 0, 4)
	recvSeq(t, rx, 4)
	must(t, prog.Reload())
	sendSeq(t, tx, loopback, 4, 3)
	recvSeq(t, rx, 3)
	if got := netCount(t, obj, countSocket); got != 7 {
		t.Errorf("socket filter saw %d datagrams, want 7", got)
	}

	must(t, link.Close())
	sendSeq(t, tx, loopback, 7, 2)
	recvSeq(t, rx, 2)
	if got := netCount(t, obj, countSocket); got != 7 {
		t.Errorf("socket filter saw %d datagrams after Close, want still 7", got)
	}
}

func TestSocketFilterErrors(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := loadAttachNet(t, "socket_count")
	prog := obj.Program("socket_count")

	if _, err := prog.Attach(); !errors.Is(err, ErrAttachTargetMissing) || !strings.Contains(err.Error(), "AttachOptions.Socket") {
		t.Errorf("socket filter without a socket: %v, want ErrAttachTargetMissing", err)
	}
	var pipe [2]int
	must(t, unix.Pipe2(pipe[:], unix.O_CLOEXEC))
	defer unix.Close(pipe[0])
	defer unix.Close(pipe[1])
	_, err := prog.AttachWith(AttachOptions{Socket: pipe[0]})
	if !errors.Is(err, unix.ENOTSOCK) || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("socket filter on a pipe: %v, want ENOTSOCK", err)
	}
}

// TestSocketReuseport sets an sk_reuseport program on a group of two UDP
// sockets sharing a port: it picks the socket of each datagram.
func TestSocketReuseport(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	ns := newTestNetns(t)
	obj := loadAttachNet(t, "reuseport_count")
	prog := obj.Program("reuseport_count")

	var group [2]int
	for i := range group {
		group[i] = ns.socket(t, unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK)
		must(t, unix.SetsockoptInt(group[i], unix.SOL_SOCKET, unix.SO_REUSEPORT, 1))
		must(t, unix.Bind(group[i], &unix.SockaddrInet4{Port: netTestPort, Addr: loopback}))
	}
	link, err := prog.AttachWith(AttachOptions{Socket: group[0]})
	must(t, err)
	defer link.Close()

	tx := ns.socket(t, unix.AF_INET, unix.SOCK_DGRAM)
	for first := 0; first < 20; first += 5 {
		sendSeq(t, tx, loopback, first, 5)
		// Sends to lo are delivered before sendto returns.
		if got := drain(group[:]); got != 5 {
			t.Fatalf("the group received %d of 5 datagrams", got)
		}
		if first == 10 {
			must(t, prog.Reload())
		}
	}
	if got := netCount(t, obj, countReuseport); got != 20 {
		t.Errorf("sk_reuseport chose for %d datagrams, want 20", got)
	}
}

// drain reads what the nonblocking sockets hold and counts it.
func drain(fds []int) int {
	n := 0
	buf := make([]byte, 64)
	for _, fd := range fds {
		for {
			if _, _, err := unix.Recvfrom(fd, buf, 0); err != nil {
				break
			}
			n++
		}
	}
	return n
}
