package syscall

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
)

func TestRawTracepointOpen(t *testing.T) {
	kernelTest(t)
	prog, _ := loadProg(t, &ProgLoadOptions{
		Type:    uapi.ProgTypeRawTracepoint,
		Name:    "raw_tp",
		Insns:   asm(movImm(0, 0), exit()),
		License: "GPL",
	})

	if _, err := RawTracepointOpen("no_such_tracepoint_rawload", prog); !errors.Is(err, unix.ENOENT) {
		t.Errorf("open a missing tracepoint: %v, want ENOENT", err)
	}
	link := closeOnCleanup(t, mustFD(t)(RawTracepointOpen("sys_enter", prog)))

	progInfo, err := ProgInfoByFD(prog)
	if err != nil {
		t.Fatal(err)
	}
	info, err := LinkInfoByFD(link)
	if err != nil {
		t.Fatal("link info:", err)
	}
	if info.Type != uapi.LinkTypeRawTracepoint || info.ProgID != progInfo.ID || info.ID == 0 {
		t.Errorf("link info %+v, want a raw tracepoint link of program %d", info, progInfo.ID)
	}

	requireIDListed(t, LinkGetNextID, info.ID)
	fd := closeOnCleanup(t, mustFD(t)(LinkGetFDByID(info.ID)))
	if info2, err := LinkInfoByFD(fd); err != nil || info2.ID != info.ID {
		t.Errorf("LinkGetFDByID(%d): %+v, %v", info.ID, info2, err)
	}

	// Raw tracepoint links cannot be detached, only closed; the cgroup link
	// test covers LinkDetach.
	if err := LinkDetach(link); !errors.Is(err, unix.EOPNOTSUPP) {
		t.Errorf("detach a raw tracepoint link: %v, want EOPNOTSUPP", err)
	}
}

// cgroup2Dir returns a fresh child cgroup of a mounted cgroup v2 hierarchy
// and an open fd for it.
func cgroup2Dir(t *testing.T) int {
	t.Helper()
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	root := ""
	for s := bufio.NewScanner(f); s.Scan(); {
		if fields := strings.Fields(s.Text()); len(fields) > 2 && fields[2] == "cgroup2" {
			root = fields[1]
			break
		}
	}
	if root == "" {
		t.Skip("no cgroup v2 hierarchy mounted")
	}
	dir, err := os.MkdirTemp(root, "rawload-syscall-")
	if err != nil {
		t.Skipf("cannot create a cgroup: %v", err)
	}
	t.Cleanup(func() { os.Remove(dir) })
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	return closeOnCleanup(t, fd)
}

func cgroupSKB(t *testing.T, name string) int {
	t.Helper()
	fd, _ := loadProg(t, &ProgLoadOptions{
		Type:               uapi.ProgTypeCgroupSKB,
		ExpectedAttachType: uapi.AttachCgroupInetIngress,
		Name:               name,
		Insns:              asm(movImm(0, 1), exit()), // 1: let the packet pass
		License:            "GPL",
	})
	return fd
}

func TestProgAttachCgroup(t *testing.T) {
	kernelTest(t)
	cg := cgroup2Dir(t)
	prog := cgroupSKB(t, "attach")

	if err := ProgAttach(cg, prog, uapi.AttachCgroupInetIngress, uapi.AttachFlagAllowMulti); err != nil {
		t.Fatal("attach:", err)
	}
	if err := ProgDetach(cg, prog, uapi.AttachCgroupInetIngress); err != nil {
		t.Error("detach:", err)
	}
	if err := ProgDetach(cg, prog, uapi.AttachCgroupInetIngress); !errors.Is(err, unix.ENOENT) {
		t.Errorf("second detach: %v, want ENOENT", err)
	}
}

func TestLinkCreateCgroup(t *testing.T) {
	kernelTest(t)
	cg := cgroup2Dir(t)
	prog := cgroupSKB(t, "link")
	next := cgroupSKB(t, "link_next")

	link := closeOnCleanup(t, mustFD(t)(LinkCreate(&LinkCreateAttr{
		ProgFD:     uint32(prog),
		TargetFD:   uint32(cg),
		AttachType: uapi.AttachCgroupInetIngress,
	})))
	if err := LinkUpdate(link, next, prog, uapi.AttachFlagReplace); err != nil {
		t.Error("update:", err)
	}
	nextInfo, err := ProgInfoByFD(next)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := LinkInfoByFD(link); err != nil || info.Type != uapi.LinkTypeCgroup || info.ProgID != nextInfo.ID {
		t.Errorf("link info after update %+v, %v; want a cgroup link of program %d", info, err, nextInfo.ID)
	}
	// The link runs next now, so replacing prog fails.
	if err := LinkUpdate(link, prog, prog, uapi.AttachFlagReplace); !errors.Is(err, unix.EPERM) {
		t.Errorf("update replacing a program the link no longer runs: %v, want EPERM", err)
	}
	if err := LinkDetach(link); err != nil {
		t.Error("detach:", err)
	}
}

func TestLinkCreatePerfEvent(t *testing.T) {
	kernelTest(t)
	pe, err := unix.PerfEventOpen(&unix.PerfEventAttr{
		Type:   unix.PERF_TYPE_SOFTWARE,
		Config: unix.PERF_COUNT_SW_CPU_CLOCK,
		Size:   uint32(unsafe.Sizeof(unix.PerfEventAttr{})),
		Sample: 1_000_000_000,
		Bits:   unix.PerfBitDisabled,
	}, 0, -1, -1, unix.PERF_FLAG_FD_CLOEXEC)
	if err != nil {
		t.Skipf("perf_event_open: %v", err)
	}
	closeOnCleanup(t, pe)
	prog, _ := loadProg(t, &ProgLoadOptions{
		Type:    uapi.ProgTypePerfEvent,
		Name:    "perf",
		Insns:   asm(movImm(0, 0), exit()),
		License: "GPL",
	})

	attr := LinkCreateAttr{ProgFD: uint32(prog), TargetFD: uint32(pe), AttachType: uapi.AttachPerfEvent}
	attr.PerfEvent().BPFCookie = 0xc00c1e
	link := closeOnCleanup(t, mustFD(t)(LinkCreate(&attr)))
	if info, err := LinkInfoByFD(link); err != nil || info.Type != uapi.LinkTypePerfEvent {
		t.Errorf("link info %+v, %v; want a perf event link", info, err)
	}
}
