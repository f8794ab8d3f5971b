package bpf

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSockMapPrograms attaches an sk_msg and an sk_skb stream_verdict
// program to a sockmap, then adds both ends of a TCP connection made in a
// namespace the test makes: every message the client sends runs sk_msg,
// and what the server receives runs the verdict, which passes it on.
func TestSockMapPrograms(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	ns := newTestNetns(t)
	obj := loadAttachNet(t, "sk_msg_count", "sk_skb_count")
	// No program uses the map in its instructions: Load did not make it.
	sockMap := obj.Map("sock_map")
	must(t, sockMap.Create())

	var links []*Link
	for _, name := range []string{"sk_msg_count", "sk_skb_count"} {
		link, err := obj.Program(name).AttachWith(AttachOptions{Map: sockMap})
		must(t, err)
		defer link.Close()
		if link.Kind != "sockmap" || link.FD() != -1 {
			t.Errorf("%s: link %q with fd %d, want sockmap without an fd", name, link.Kind, link.FD())
		}
		links = append(links, link)
	}

	client, server := tcpPair(t, ns)
	must(t, sockMap.Update(u32(0), u64(uint64(client))))
	must(t, sockMap.Update(u32(1), u64(uint64(server))))

	const messages, size = 5, 10
	for range messages {
		if _, err := unix.Write(client, make([]byte, size)); err != nil {
			t.Fatal(err)
		}
	}
	readFull(t, server, messages*size)
	if got := netCount(t, obj, countSkMsg); got != messages {
		t.Errorf("sk_msg saw %d messages, want %d", got, messages)
	}
	if got := netCount(t, obj, countSkSKB); got == 0 {
		t.Errorf("sk_skb verdict saw nothing of %d bytes received", messages*size)
	}

	// A reload replaces the map's programs in one step. The sockets in the
	// map keep the instance they were added under; both count alike.
	must(t, obj.Program("sk_msg_count").Reload())
	for _, l := range links {
		must(t, l.Close())
	}
}

func TestSockMapErrors(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := loadAttachNet(t, "sk_msg_count")
	prog := obj.Program("sk_msg_count")

	if _, err := prog.Attach(); !errors.Is(err, ErrAttachTargetMissing) || !strings.Contains(err.Error(), "sockmap") {
		t.Errorf("sk_msg without a map: %v, want ErrAttachTargetMissing", err)
	}
	_, err := prog.AttachWith(AttachOptions{Map: obj.Map("counts")})
	if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "not a sockmap") {
		t.Errorf("sk_msg on an array: %v, want EINVAL and 'not a sockmap'", err)
	}
}

// tcpPair connects two TCP sockets over lo in the namespace.
func tcpPair(t *testing.T, ns testNS) (client, server int) {
	t.Helper()
	ln := ns.socket(t, unix.AF_INET, unix.SOCK_STREAM)
	must(t, unix.Bind(ln, &unix.SockaddrInet4{Port: netTestPort, Addr: loopback}))
	must(t, unix.Listen(ln, 1))
	client = ns.socket(t, unix.AF_INET, unix.SOCK_STREAM)
	must(t, unix.Connect(client, &unix.SockaddrInet4{Port: netTestPort, Addr: loopback}))
	server, _, err := unix.Accept4(ln, unix.SOCK_CLOEXEC)
	must(t, err)
	t.Cleanup(func() { unix.Close(server) })
	return client, server
}

func readFull(t *testing.T, fd, n int) {
	t.Helper()
	must(t, unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 2}))
	buf := make([]byte, n)
	for got := 0; got < n; {
		k, err := unix.Read(fd, buf[got:])
		if err != nil || k == 0 {
			t.Fatalf("read %d of %d bytes: %v", got, n, err)
		}
		got += k
	}
}

// TestSockMapNotLive: a sockmap no loaded program uses is not made by
// Load; attaching to it says so.
func TestSockMapNotLive(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := loadAttachNet(t, "sk_msg_count")
	_, err := obj.Program("sk_msg_count").AttachWith(AttachOptions{Map: obj.Map("sock_map")})
	if !errors.Is(err, ErrMapNotLive) || !strings.Contains(err.Error(), "Map.Create") {
		t.Errorf("sk_msg on a map not made: %v, want ErrMapNotLive", err)
	}
}
