package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/syscall"
)

// Indexes of counts in testdata/attach_net.c.
const (
	countXDP        = 0
	countTCXIngress = 2
	countSockCreate = 7
)

// lockedBuffer is an io.Writer read while run writes to it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// mountCgroup2 mounts a cgroup2 hierarchy on a temporary directory (this
// project's machines mount only cgroup v1) and returns a child cgroup.
func mountCgroup2(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := unix.Mount("cgroup2", root, "cgroup2", 0, ""); err != nil {
		t.Skipf("mounting cgroup2: %v", err)
	}
	child := filepath.Join(root, "rawload-run")
	if err := os.Mkdir(child, 0o755); err != nil {
		unix.Unmount(root, unix.MNT_DETACH)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.Remove(child)
		unix.Unmount(root, unix.MNT_DETACH)
	})
	return child
}

// TestRunEveryHook runs `rawload run --iface lo --cgroup DIR --json` on an
// object with one program per networking hook: the links are in the
// kernel, the hooks fire, and after the interrupt no link or program of
// the run remains.
func TestRunEveryHook(t *testing.T) {
	requireKernel(t)
	cgroup := mountCgroup2(t)
	before := openFDs(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out lockedBuffer
	done := make(chan int, 1)
	go func() {
		args := []string{"run", "--iface", "lo", "--cgroup", cgroup, "--json"}
		// One xdp program per interface: xdp_other would find lo taken.
		for _, prog := range []string{"xdp_count", "tcx_ingress", "tcx_egress", "cg_connect4", "cg_sock_create", "cg_skb_egress",
			"cg_sockops", "sk_lookup_count", "flow_dissector_count", "socket_count", "sk_msg_count", "netfilter_count", "netkit_primary"} {
			args = append(args, "--prog", prog)
		}
		done <- run(ctx, append(args, testdata("attach_net.o")), &out, &out)
	}()

	var records []attachRecord
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if err := json.Unmarshal([]byte(out.String()), &records); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no JSON from run:\n%s", out.String())
		}
	}
	states := map[string]attachRecord{}
	var linkIDs []uint32
	for _, r := range records {
		states[r.Program] = r
		if r.State == "attached" {
			linkIDs = append(linkIDs, r.LinkID)
		}
	}
	for _, prog := range []string{"xdp_count", "tcx_ingress", "tcx_egress", "cg_connect4", "cg_sock_create", "cg_skb_egress", "cg_sockops", "sk_lookup_count", "flow_dissector_count"} {
		if r := states[prog]; r.State != "attached" || r.LinkID == 0 {
			t.Errorf("%s: %+v, want attached with a link id", prog, r)
		}
	}
	for _, prog := range []string{"socket_count", "sk_msg_count", "netfilter_count"} {
		if r := states[prog]; r.State != "nothing to attach to" {
			t.Errorf("%s: %+v, want nothing to attach to", prog, r)
		}
	}
	var progIDs []uint32
	for _, id := range linkIDs {
		fd, err := syscall.LinkGetFDByID(id)
		if err != nil {
			t.Errorf("link %d of the table is not in the kernel: %v", id, err)
			continue
		}
		if info, err := syscall.LinkInfoByFD(fd); err == nil {
			progIDs = append(progIDs, info.ProgID)
		}
		unix.Close(fd)
	}

	// Fire the hooks: UDP over lo to test_port, and a socket made in the
	// cgroup.
	maps := waitForProgramMaps(t, "xdp_count")
	const port = 47311
	key := make([]byte, 4)
	if err := syscall.MapUpdateElem(maps[".data"], key, binary.NativeEndian.AppendUint32(nil, port), 0); err != nil {
		t.Fatal(err)
	}
	sink, err := net.ListenPacket("udp4", "127.0.0.1:47311")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("udp4", "127.0.0.1:47311")
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := conn.Write(binary.NativeEndian.AppendUint32(nil, 7)); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close()
	sink.Close()
	sh := exec.Command("sh", "-c", `echo $$ > "$1/cgroup.procs" && exec python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)'`, "sh", cgroup)
	if out, err := sh.CombinedOutput(); err != nil {
		t.Errorf("making a socket in the cgroup: %v\n%s", err, out)
	}
	count := func(index uint32) uint64 {
		value := make([]byte, 8)
		if err := syscall.MapLookupElem(maps["counts"], binary.NativeEndian.AppendUint32(nil, index), value); err != nil {
			t.Fatal(err)
		}
		return binary.NativeEndian.Uint64(value)
	}
	if n := count(countXDP); n < 5 {
		t.Errorf("xdp counted %d packets, want 5 or more", n)
	}
	if n := count(countTCXIngress); n < 5 {
		t.Errorf("tcx ingress counted %d packets, want 5 or more", n)
	}
	if n := count(countSockCreate); n < 1 {
		t.Errorf("cgroup sock_create counted %d sockets, want 1 or more", n)
	}
	for _, fd := range maps {
		unix.Close(fd)
	}

	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("run exited %d:\n%s", code, out.String())
	}
	for _, id := range linkIDs {
		if fd, err := syscall.LinkGetFDByID(id); err == nil {
			unix.Close(fd)
			t.Errorf("link %d outlived run", id)
		} else if !errors.Is(err, unix.ENOENT) {
			t.Errorf("link %d: %v", id, err)
		}
	}
	// The programs go with their last link, after an RCU grace period.
	for _, id := range progIDs {
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			fd, err := syscall.ProgGetFDByID(id)
			if errors.Is(err, unix.ENOENT) {
				break
			}
			if err == nil {
				unix.Close(fd)
			}
			if time.Now().After(deadline) {
				t.Errorf("program %d outlived run", id)
				break
			}
		}
	}
	if strings.Contains(out.String(), "not attached:") {
		t.Errorf("a program failed to attach:\n%s", out.String())
	}
	if after := openFDs(t); after != before {
		t.Errorf("%d fds after run, %d before", after, before)
	}
}
