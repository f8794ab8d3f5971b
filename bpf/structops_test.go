package bpf

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
)

const availableCongestion = "/proc/sys/net/ipv4/tcp_available_congestion_control"

func congestionControls(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(availableCongestion)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(data))
}

func hasCongestionControl(t *testing.T, name string) bool {
	t.Helper()
	for _, cc := range congestionControls(t) {
		if cc == name {
			return true
		}
	}
	return false
}

// tcpWithCongestion opens a TCP connection over loopback whose client
// uses the congestion control cc and sends a little data.
func tcpWithCongestion(t *testing.T, cc string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err == nil {
			buf := make([]byte, 1<<16)
			for {
				if _, err := c.Read(buf); err != nil {
					break
				}
			}
			c.Close()
		}
	}()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.SetsockoptString(fd, unix.IPPROTO_TCP, unix.TCP_CONGESTION, cc); err != nil {
		t.Fatalf("TCP_CONGESTION %s: %v", cc, err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: addr.Port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 1<<20)
	for sent := 0; sent < len(payload); {
		n, err := unix.Write(fd, payload[sent:])
		if err != nil {
			t.Fatal(err)
		}
		sent += n
	}
	unix.Shutdown(fd, unix.SHUT_WR)
	<-done
}

func structOpsCalls(t *testing.T, obj *Object) uint64 {
	t.Helper()
	v, err := obj.Variable("calls")
	must(t, err)
	buf := make([]byte, 8)
	must(t, v.Read(buf))
	return binary.NativeEndian.Uint64(buf)
}

// TestStructOpsRegister: a TCP congestion control written as struct_ops
// registers through a struct_ops link (.struct_ops.link) and by a map
// update (.struct_ops), shows in the kernel's list of congestion
// controls, runs for a connection that picks it, and is gone when its
// Link closes.
func TestStructOpsRegister(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("structops.o"), nil)

	unused := obj.Program("rl_unused")
	if unused.LoadType() != LoadDisabled || !errors.Is(unused.Err(), ErrStructOpsUnused) {
		t.Errorf("rl_unused: load type %v, err %v; want disabled, ErrStructOpsUnused", unused.LoadType(), unused.Err())
	}
	must(t, obj.Load(context.Background()))
	if p := obj.Program("rl_init"); p.AttachBTFID() == 0 {
		t.Errorf("rl_init: no attach BTF id")
	}

	for _, tc := range []struct{ mapName, cc string }{
		{"rawload_cc", "rawload_cc"},
		{"rawload_cc_legacy", "rawload_cc_old"},
	} {
		if hasCongestionControl(t, tc.cc) {
			t.Fatalf("%s is registered before the test", tc.cc)
		}
		m := obj.Map(tc.mapName)
		link, err := m.AttachStructOps()
		if err != nil {
			if errors.Is(err, unix.EPERM) {
				t.Skipf("the kernel refuses struct_ops: %v", err)
			}
			t.Fatalf("%s: AttachStructOps: %v", tc.mapName, err)
		}
		if !hasCongestionControl(t, tc.cc) {
			t.Errorf("%s: %s not in %s: %v", tc.mapName, tc.cc, availableCongestion, congestionControls(t))
		}
		info, err := m.Info()
		must(t, err)
		if info.Type != MapType(uapi.MapTypeStructOps) || info.ValueSize != m.Spec().ValueSize || info.ValueSize <= 56 {
			t.Errorf("%s: map info type %v, value size %d (spec %d); want struct_ops with the kernel's wrapper as value", tc.mapName, info.Type, info.ValueSize, m.Spec().ValueSize)
		}
		before := structOpsCalls(t, obj)
		tcpWithCongestion(t, tc.cc)
		if after := structOpsCalls(t, obj); after <= before {
			t.Errorf("%s: calls %d before a connection using it, %d after", tc.cc, before, after)
		}
		must(t, link.Close())
		if hasCongestionControl(t, tc.cc) {
			t.Errorf("%s: still registered after Link.Close", tc.cc)
		}
	}
}

// TestStructOpsErrors: registration names what is missing.
func TestStructOpsErrors(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("structops.o"), nil)
	for _, p := range obj.Programs() {
		if p.Name() != "rl_ssthresh" {
			must(t, p.SetAutoload(false))
		}
	}
	must(t, obj.Load(context.Background()))
	_, err := obj.Map("rawload_cc").AttachStructOps()
	if !errors.Is(err, ErrNotLoaded) || !strings.Contains(err.Error(), "rl_cong_avoid") {
		t.Errorf("AttachStructOps with rl_cong_avoid not loaded: %v, want ErrNotLoaded naming it", err)
	}
	_, err = obj.Map(".bss").AttachStructOps()
	if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "not a struct_ops map") {
		t.Errorf("AttachStructOps of .bss: %v, want EINVAL", err)
	}
	if err := unusedLoad(obj); !errors.Is(err, ErrStructOpsUnused) {
		t.Errorf("loading rl_unused: %v, want ErrStructOpsUnused", err)
	}
}

func unusedLoad(obj *Object) error { return obj.Program("rl_unused").Load() }
