package bpf

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	ossyscall "syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
)

// The helper process of the cgroup tests: this test binary, run again with
// these variables, inside the cgroup.
const (
	cgroupHelperEnv   = "RAWLOAD_CGROUP_HELPER" // how many UDP sockets to make
	cgroupHelperNetns = "RAWLOAD_CGROUP_HELPER_NETNS"
)

// TestCgroupHooks attaches connect4, sock_create, cgroup_skb/egress and
// sockops programs to a cgroup v2 directory the test makes, and runs a
// process in that cgroup (and in a namespace the test makes) that makes
// n UDP sockets, connects each to 127.0.0.1 and sends one datagram, then
// makes one TCP connection. Each program counts what it must. After a
// reload of every program the links still fire, and after Close they do
// not.
func TestCgroupHooks(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	dir := newTestCgroup(t)
	ns := newTestNetns(t)
	progs := []string{"cg_connect4", "cg_sock_create", "cg_skb_egress", "cg_sockops"}
	obj := loadAttachNet(t, progs...)

	var links []*Link
	for _, name := range progs {
		prog := obj.Program(name)
		link, err := prog.AttachWith(AttachOptions{Cgroup: dir})
		must(t, err)
		defer link.Close()
		requireLinkType(t, link, uapi.LinkTypeCgroup, prog)
		links = append(links, link)
	}

	const n = 5
	runInCgroup(t, dir, ns, n)
	want := map[uint32]uint64{countConnect4: n + 1, countSockCreate: n, countCgroupSKB: n}
	checkCounts(t, obj, want)
	if got := netCount(t, obj, countSockops); got == 0 {
		t.Errorf("sockops saw nothing of a TCP connection")
	}

	for _, name := range progs {
		must(t, obj.Program(name).Reload())
	}
	for i, name := range progs {
		requireLinkType(t, links[i], uapi.LinkTypeCgroup, obj.Program(name))
	}
	runInCgroup(t, dir, ns, n)
	checkCounts(t, obj, map[uint32]uint64{countConnect4: 2 * (n + 1), countSockCreate: 2 * n, countCgroupSKB: 2 * n})

	for _, l := range links {
		must(t, l.Close())
	}
	runInCgroup(t, dir, ns, n)
	checkCounts(t, obj, map[uint32]uint64{countConnect4: 2 * (n + 1), countSockCreate: 2 * n, countCgroupSKB: 2 * n})
}

// TestCgroupAttachErrors: a cgroup section needs a directory, and it must
// be a cgroup v2 one.
func TestCgroupAttachErrors(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := loadAttachNet(t, "cg_connect4")
	prog := obj.Program("cg_connect4")

	_, err := prog.Attach()
	if !errors.Is(err, ErrAttachTargetMissing) || !strings.Contains(err.Error(), "--cgroup") {
		t.Errorf("Attach without a cgroup: %v, want ErrAttachTargetMissing naming --cgroup", err)
	}
	_, err = prog.AttachWith(AttachOptions{Cgroup: t.TempDir()})
	if !errors.Is(err, unix.EBADF) || !strings.Contains(err.Error(), "not a cgroup v2 directory") {
		t.Errorf("Attach to a plain directory: %v, want EBADF and 'not a cgroup v2 directory'", err)
	}
	if v1 := cgroupV1Dir(); v1 != "" {
		_, err = prog.AttachWith(AttachOptions{Cgroup: v1})
		if !errors.Is(err, unix.EBADF) || !strings.Contains(err.Error(), "cgroup v1") {
			t.Errorf("Attach to cgroup v1 %s: %v, want EBADF and 'cgroup v1'", v1, err)
		}
	}
	_, err = prog.AttachWith(AttachOptions{Cgroup: "/nonexistent/rawload"})
	if !errors.Is(err, unix.ENOENT) {
		t.Errorf("Attach to a missing directory: %v, want ENOENT", err)
	}
}

// cgroupV1Dir is a mounted cgroup v1 hierarchy, if any.
func cgroupV1Dir() string {
	mounts, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(mounts), "\n") {
		f := strings.Fields(line)
		if len(f) > 2 && f[2] == "cgroup" {
			return f[1]
		}
	}
	return ""
}

func checkCounts(t *testing.T, obj *Object, want map[uint32]uint64) {
	t.Helper()
	for counter, n := range want {
		if got := netCount(t, obj, counter); got != n {
			t.Errorf("counter %d is %d, want %d", counter, got, n)
		}
	}
}

// runInCgroup runs the helper process in the cgroup from its first
// instruction (clone3 with CLONE_INTO_CGROUP), so that nothing else of
// the test process moves.
func runInCgroup(t *testing.T, dir string, ns testNS, sockets int) {
	t.Helper()
	cg, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	must(t, err)
	defer unix.Close(cg)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCgroupHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), cgroupHelperEnv+"="+strconv.Itoa(sockets), cgroupHelperNetns+"="+ns.path)
	cmd.SysProcAttr = &ossyscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("helper in cgroup %s: %v: %s", dir, err, out)
	}
}

// TestCgroupHelperProcess is the helper process of runInCgroup; run as a
// test by itself it does nothing.
func TestCgroupHelperProcess(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv(cgroupHelperEnv))
	if err != nil {
		return
	}
	if err := cgroupHelper(n, os.Getenv(cgroupHelperNetns)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// cgroupHelper makes n UDP sockets in the namespace, connects each to
// 127.0.0.1:netTestPort and sends a datagram, then connects over TCP.
func cgroupHelper(n int, netns string) error {
	runtime.LockOSThread()
	ns, err := unix.Open(netns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	if err := unix.Setns(ns, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("setns %s: %w", netns, err)
	}
	to := &unix.SockaddrInet4{Port: netTestPort, Addr: loopback}
	for range n {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
		if err != nil {
			return err
		}
		if err := unix.Connect(fd, to); err != nil {
			return fmt.Errorf("udp connect: %w", err)
		}
		if _, err := unix.Write(fd, make([]byte, 8)); err != nil {
			return fmt.Errorf("udp send: %w", err)
		}
		unix.Close(fd)
	}
	ln, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	if err := unix.Bind(ln, &unix.SockaddrInet4{Port: netTestPort, Addr: loopback}); err != nil {
		return fmt.Errorf("tcp bind: %w", err)
	}
	if err := unix.Listen(ln, 1); err != nil {
		return err
	}
	c, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	if err := unix.Connect(c, to); err != nil {
		return fmt.Errorf("tcp connect: %w", err)
	}
	return nil
}
