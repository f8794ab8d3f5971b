package bpf

import (
	"context"
	"errors"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/syscall"
)

const (
	seqBase = 1000000 // testdata/reload.c
	seqMax  = 65536
)

// TestGaplessReload calls close(seqBase+n) for n = 0, 1, 2... while the
// program watching them is reloaded 100 times; the program must have seen
// every n: the hook was never empty.
func TestGaplessReload(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("reload.o"), nil)
	v, err := obj.Variable("target_pid")
	must(t, err)
	must(t, v.Write(u32(uint32(unix.Getpid()))))
	must(t, obj.Load(context.Background()))
	prog := obj.Program("mark_close")
	link, err := prog.Attach()
	must(t, err)
	defer link.Close()

	// Each reload runs beside a burst of events, so that bursts span the
	// moments links switch.
	const reloads, burst = 100, 400
	n := 0
	for range reloads {
		done := make(chan struct{})
		go func(first int) {
			defer close(done)
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for k := range burst {
				unix.Close(seqBase + first + k)
			}
		}(n)
		must(t, prog.Reload())
		<-done
		n += burst
	}

	seen := obj.Map("seen_close")
	value := make([]byte, 1)
	var missing []int
	for k := range n {
		must(t, seen.Lookup(u32(uint32(k)), value))
		if value[0] != 1 {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("%d of %d events missed during %d reloads, first %d", len(missing), n, reloads, missing[0])
	}
	t.Logf("%d events, none missed, across %d reloads", n, reloads)

	// The link runs the instance Program.FD is now.
	info, err := link.Info()
	must(t, err)
	progInfo, err := syscall.ProgInfoByFD(prog.FD())
	must(t, err)
	if info.ProgID != progInfo.ID {
		t.Errorf("link runs program %d, the loaded instance is %d", info.ProgID, progInfo.ID)
	}
}

func TestReloadNotLoaded(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("reload.o"), nil)
	must(t, obj.Program("mark_close").SetLoadType(LoadDynamic))
	must(t, obj.Load(context.Background()))
	if err := obj.Program("mark_close").Reload(); !errors.Is(err, ErrNotLoaded) {
		t.Errorf("Reload of a program not loaded: %v", err)
	}
}
