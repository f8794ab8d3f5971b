package bpf

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/testutil"
	"github.com/rawload/rawload/syscall"
)

// The counters of testdata/attach_net.c, and the UDP port its packet
// programs count.
const (
	countXDP = iota
	countXDPOther
	countTCXIngress
	countTCXEgress
	countTC
	countNetkit
	countConnect4
	countSockCreate
	countCgroupSKB
	countSockops
	countSkLookup
	countFlowDissector
	countSocket
	countSkMsg
	countSkSKB
	countNetfilter
	countReuseport

	netTestPort = 4242
)

// loadAttachNet loads the named programs of attach_net.o (the others stay
// disabled), counting UDP to netTestPort.
func loadAttachNet(t *testing.T, progs ...string) *Object {
	t.Helper()
	obj := mustOpen(t, testdata("attach_net.o"), nil)
	port, err := obj.Variable("test_port")
	must(t, err)
	must(t, port.Write(u32(netTestPort)))
	for _, p := range obj.Programs() {
		if !slices.Contains(progs, p.Name()) {
			must(t, p.SetAutoload(false))
		}
	}
	must(t, obj.Load(context.Background()))
	return obj
}

func netCount(t *testing.T, obj *Object, counter uint32) uint64 {
	t.Helper()
	return lookupU64(t, obj.Map("counts"), counter)
}

// testNS is a network namespace a test made, with lo up.
type testNS struct {
	name string // for ip -n
	path string // for AttachOptions.Netns
}

var netnsSeq atomic.Int32

// newTestNetns makes a network namespace that the end of the test
// deletes, with everything in it.
func newTestNetns(t *testing.T) testNS {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		testutil.SkipUnlessRequired(t, "network tests need iproute2's ip: %v", err)
	}
	name := fmt.Sprintf("rawload-test-%d-%d", os.Getpid(), netnsSeq.Add(1))
	ipCmd(t, "netns", "add", name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	ns := testNS{name: name, path: filepath.Join("/run/netns", name)}
	if _, err := os.Stat(ns.path); err != nil {
		ns.path = filepath.Join("/var/run/netns", name)
	}
	ns.ip(t, "link", "set", "lo", "up")
	return ns
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// ip runs an ip command in the namespace.
func (ns testNS) ip(t *testing.T, args ...string) {
	t.Helper()
	ipCmd(t, append([]string{"-n", ns.name}, args...)...)
}

// exec runs a shell command in the namespace, with its own /sys.
func (ns testNS) exec(t *testing.T, script string) {
	t.Helper()
	if out, err := exec.Command("ip", "netns", "exec", ns.name, "sh", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("in %s: %s: %v: %s", ns.name, script, err, out)
	}
}

// socket makes a socket in the namespace, closed at the end of the test.
func (ns testNS) socket(t *testing.T, domain, typ int) int {
	t.Helper()
	fd := -1
	must(t, withNetns(ns.path, func() error {
		var err error
		fd, err = unix.Socket(domain, typ|unix.SOCK_CLOEXEC, 0)
		return err
	}))
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// recvSeq waits for n datagrams on fd and returns their sequence
// numbers; packet programs run asynchronously on some devices (veth with
// XDP), so a test looks at counters only once the packets arrived.
func recvSeq(t *testing.T, fd, n int) []uint32 {
	t.Helper()
	must(t, unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 2}))
	var seqs []uint32
	buf := make([]byte, 64)
	for len(seqs) < n {
		size, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			t.Fatalf("received %d of %d datagrams: %v", len(seqs), n, err)
		}
		if size >= 4 {
			seqs = append(seqs, binary.NativeEndian.Uint32(buf))
		}
	}
	return seqs
}

// udpReceiver is a UDP socket of the namespace bound to addr:netTestPort,
// so that packets sent there find a socket and make no ICMP errors.
func (ns testNS) udpReceiver(t *testing.T, addr [4]byte) int {
	t.Helper()
	fd := ns.socket(t, unix.AF_INET, unix.SOCK_DGRAM)
	must(t, unix.Bind(fd, &unix.SockaddrInet4{Port: netTestPort, Addr: addr}))
	return fd
}

var loopback = [4]byte{127, 0, 0, 1}

// sendSeq sends UDP datagrams to addr:netTestPort carrying sequence
// numbers first, first+1, ... first+n-1.
func sendSeq(t *testing.T, fd int, addr [4]byte, first, n int) {
	t.Helper()
	if err := trySendSeq(fd, addr, first, n); err != nil {
		t.Fatal(err)
	}
}

// warmPath sends probes from tx until rx receives one, so that what a test
// counts afterwards does not depend on how soon a fresh veth pair (or one
// an xdp program was just attached to) passes packets on a loaded
// machine. The probes carry sequence number probeSeq.
func warmPath(t *testing.T, tx, rx int, addr [4]byte) {
	t.Helper()
	must(t, unix.SetsockoptTimeval(rx, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 100000}))
	buf := make([]byte, 64)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		sendSeq(t, tx, addr, probeSeq, 1)
		if _, _, err := unix.Recvfrom(rx, buf, 0); err == nil {
			// Drain the probes still on their way.
			for {
				if _, _, err := unix.Recvfrom(rx, buf, unix.MSG_DONTWAIT); err != nil {
					return
				}
			}
		}
	}
	t.Fatalf("no probe reached %v in 5 s", addr)
}

const probeSeq = 1 << 30

func trySendSeq(fd int, addr [4]byte, first, n int) error {
	to := &unix.SockaddrInet4{Port: netTestPort, Addr: addr}
	payload := make([]byte, 16)
	for k := first; k < first+n; k++ {
		binary.NativeEndian.PutUint32(payload, uint32(k))
		if err := unix.Sendto(fd, payload, 0, to); err != nil {
			return fmt.Errorf("sendto %v:%d, packet %d: %w", addr, netTestPort, k, err)
		}
	}
	return nil
}

// vethPair is veth0 in a (10.199.0.1) linked to veth1 in b (10.199.0.2),
// with static neighbours, so that the first packet needs no ARP.
type vethPair struct {
	a, b   testNS
	addrA  [4]byte
	addrB  [4]byte
	ifaceA string
	ifaceB string
}

func newVethPair(t *testing.T) vethPair {
	t.Helper()
	v := vethPair{
		a: newTestNetns(t), b: newTestNetns(t),
		addrA: [4]byte{10, 199, 0, 1}, addrB: [4]byte{10, 199, 0, 2},
		ifaceA: "veth0", ifaceB: "veth1",
	}
	const macA, macB = "02:00:00:c7:00:01", "02:00:00:c7:00:02"
	v.a.ip(t, "link", "add", "veth0", "address", macA, "type", "veth",
		"peer", "name", "veth1", "address", macB, "netns", v.b.name)
	v.a.ip(t, "addr", "add", "10.199.0.1/24", "dev", "veth0")
	v.b.ip(t, "addr", "add", "10.199.0.2/24", "dev", "veth1")
	v.a.ip(t, "neigh", "add", "10.199.0.2", "lladdr", macB, "dev", "veth0", "nud", "permanent")
	v.b.ip(t, "neigh", "add", "10.199.0.1", "lladdr", macA, "dev", "veth1", "nud", "permanent")
	v.a.ip(t, "link", "set", "veth0", "up")
	v.b.ip(t, "link", "set", "veth1", "up")
	return v
}

var cgroupSeq atomic.Int32

// newTestCgroup mounts the cgroup v2 hierarchy on a temporary directory
// (these machines mount only v1) and makes a child cgroup in it; the end
// of the test removes the child and unmounts.
func newTestCgroup(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := unix.Mount("cgroup2", root, "cgroup2", 0, ""); err != nil {
		if errors.Is(err, unix.EPERM) {
			testutil.SkipUnlessRequired(t, "mounting cgroup2: %v (needs CAP_SYS_ADMIN)", err)
		}
		t.Fatalf("mounting cgroup2 on %s: %v", root, err)
	}
	// Cleanups run last first: the child goes, then the mount, then the
	// temporary directory.
	t.Cleanup(func() {
		if err := unix.Unmount(root, 0); err != nil {
			t.Errorf("unmounting cgroup2 from %s: %v", root, err)
		}
	})
	dir := filepath.Join(root, fmt.Sprintf("rawload-test-%d-%d", os.Getpid(), cgroupSeq.Add(1)))
	must(t, os.Mkdir(dir, 0o755))
	t.Cleanup(func() {
		if err := unix.Rmdir(dir); err != nil {
			t.Errorf("removing cgroup %s: %v", dir, err)
		}
	})
	return dir
}

func requireLinkType(t *testing.T, l *Link, want uint32, prog *Program) {
	t.Helper()
	info, err := l.Info()
	if err != nil {
		t.Fatalf("%s link info: %v", l.Kind, err)
	}
	if info.Type != want {
		t.Errorf("%s link on %s: type %d, want %d", l.Kind, l.Target, info.Type, want)
	}
	if prog != nil {
		if id := netProgID(t, prog); info.ProgID != id {
			t.Errorf("%s link on %s runs program %d, want %s's %d", l.Kind, l.Target, info.ProgID, prog.Name(), id)
		}
	}
}

// netProgID is the kernel's id of the program's loaded instance.
func netProgID(t *testing.T, p *Program) uint32 {
	t.Helper()
	info, err := syscall.ProgInfoByFD(p.FD())
	if err != nil {
		t.Fatalf("%s: prog info: %v", p.Name(), err)
	}
	return info.ID
}
