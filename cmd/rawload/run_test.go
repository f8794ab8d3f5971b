package main

import (
	"context"
	"encoding/binary"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/syscall"
)

// TestRun attaches trace.o's raw tracepoint program and sees it count this
// process's syscalls while run holds it, then sees run detach on cancel.
func TestRun(t *testing.T) {
	requireKernel(t)
	before := openFDs(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out strings.Builder
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"run", "--prog", "rawtp_count", testdata("trace.o")}, &out, &out) }()
	stop := func() int {
		cancel()
		return <-done
	}

	maps := waitForProgramMaps(t, "rawtp_count")
	if maps[".data"] == 0 || maps[".bss"] == 0 {
		stop()
		t.Fatalf("rawtp_count never showed up loaded with its .data and .bss (%v); output:\n%s", maps, out.String())
	}
	// The program counts only target_pid's syscalls (.data, 0 in the
	// object): point it at this process, then make syscalls.
	key := make([]byte, 4)
	err := syscall.MapUpdateElem(maps[".data"], key, binary.NativeEndian.AppendUint32(nil, uint32(os.Getpid())), 0)
	var hits uint64
	value := make([]byte, 16)
	for i := 0; err == nil && i < 100 && hits == 0; i++ {
		unix.Getppid()
		err = syscall.MapLookupElem(maps[".bss"], key, value)
		hits = binary.NativeEndian.Uint64(value)
		time.Sleep(time.Millisecond)
	}
	for _, fd := range maps {
		unix.Close(fd)
	}
	code := stop()
	if err != nil {
		t.Fatal(err)
	}
	if code != exitOK {
		t.Fatalf("run exited %d:\n%s", code, out.String())
	}
	if hits == 0 {
		t.Fatalf("rawtp_count never counted while run held it:\n%s", out.String())
	}
	for _, want := range []string{"rawtp_count", "attached", "detaching"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if after := openFDs(t); after != before {
		t.Errorf("%d fds after run, %d before", after, before)
	}
}

// waitForProgramMaps waits for a loaded program of that name and returns
// fds of the maps it uses, by map name; nil if it never appears.
func waitForProgramMaps(t *testing.T, prog string) map[string]int {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for id := uint32(0); ; {
			next, err := syscall.ProgGetNextID(id)
			if err != nil {
				break
			}
			id = next
			fd, err := syscall.ProgGetFDByID(id)
			if err != nil {
				continue
			}
			info, err := syscall.ProgInfoWithMapsByFD(fd)
			unix.Close(fd)
			if err != nil || info.Name != prog {
				continue
			}
			maps := map[string]int{}
			for _, mapID := range info.MapIDs {
				mfd, err := syscall.MapGetFDByID(mapID)
				if err != nil {
					continue
				}
				if minfo, err := syscall.MapInfoByFD(mfd); err == nil {
					maps[minfo.Name] = mfd
				} else {
					unix.Close(mfd)
				}
			}
			return maps
		}
	}
	return nil
}

// TestRunNothingAttachable: socket filters have no hook a section name can
// attach to; run says so and exits 1 at once instead of waiting.
func TestRunNothingAttachable(t *testing.T) {
	requireKernel(t)
	stdout, _, code := rawload(t, "run", testdata("legacy.o"))
	if code != exitFailure || !strings.Contains(stdout, "nothing to attach to") || !strings.Contains(stdout, "nothing attached") {
		t.Fatalf("exit %d:\n%s", code, stdout)
	}
}
