// Command sysenter prints the system calls a process makes, as a raw_tp
// program on sys_enter sees them, then a count per system call. It is
// the example of `rawload gen`: the bindings in sysenter_bpf.go embed
// sysenter.o and give Go types to its maps, globals and events.
//
//	go generate ./examples/sysenter   # clang-19: sysenter.c -> sysenter.o, sysenter_bpf.go
//	CGO_ENABLED=0 go build ./examples/sysenter
//	sudo ./sysenter -pid 1234 -n 20   # or -pid 0 for every process
package main

//go:generate go run github.com/rawload/rawload/cmd/rawload gen --pkg main --type event --cc clang-19 --cflags "-I../../testdata/include -Wall" sysenter.c

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"slices"
	"time"

	"github.com/rawload/rawload/bpf/ringbuf"
)

func main() {
	pid := flag.Int("pid", os.Getpid(), "process to watch, 0 for every process")
	n := flag.Int("n", 0, "stop after this many events (0: until Ctrl-C)")
	timeout := flag.Duration("timeout", 0, "stop after this long (0: never)")
	flag.Parse()
	if err := run(*pid, *n, *timeout); err != nil {
		log.Fatal(err)
	}
}

func run(pid, n int, timeout time.Duration) error {
	objs, err := LoadSysenter(nil)
	if err != nil {
		return err
	}
	defer objs.Close()
	// .rodata is written before Load; the verifier then sees a constant.
	if err := objs.TargetTgid.Set(uint32(pid)); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := objs.Load(ctx); err != nil {
		return err
	}
	rd, err := ringbuf.NewReader(objs.Events)
	if err != nil {
		return err
	}
	defer rd.Close()
	link, err := objs.OnSysEnter.Attach()
	if err != nil {
		return err
	}
	defer link.Close()

	deadline := time.Time{}
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	var rec ringbuf.Record
	var ev SysenterEvent
	for seen := 0; n == 0 || seen < n; seen++ {
		if ctx.Err() != nil {
			break
		}
		// Wake up now and then to notice Ctrl-C.
		wake := time.Now().Add(200 * time.Millisecond)
		if !deadline.IsZero() && deadline.Before(wake) {
			wake = deadline
		}
		rd.SetDeadline(wake)
		if err := rd.ReadInto(&rec); errors.Is(err, os.ErrDeadlineExceeded) {
			if !deadline.IsZero() && time.Now().After(deadline) {
				break
			}
			seen--
			continue
		} else if err != nil {
			return err
		}
		if err := binary.Read(bytes.NewReader(rec.RawSample), binary.NativeEndian, &ev); err != nil {
			return err
		}
		comm, _, _ := bytes.Cut(ev.Comm[:], []byte{0})
		fmt.Printf("pid %d tid %d %-16s syscall %d\n", ev.Tgid, ev.Tid, comm, ev.Nr)
	}
	return summary(objs)
}

// summary prints the program's own counts: the stats global and the
// counts map, read through the typed bindings.
func summary(objs *SysenterObjects) error {
	stats, err := objs.StatsVar.Get() // Stats is bpf.Object's method: the field is StatsVar
	if err != nil {
		return err
	}
	fmt.Printf("seen %d, dropped %d\n", stats.Seen, stats.Dropped)
	type count struct {
		nr uint32
		n  uint64
	}
	var counts []count
	var iterErr error
	for nr, c := range objs.Counts.All(&iterErr) {
		counts = append(counts, count{nr, c})
	}
	if iterErr != nil {
		return iterErr
	}
	slices.SortFunc(counts, func(a, b count) int { return int(b.n) - int(a.n) })
	for _, c := range counts[:min(len(counts), 5)] {
		fmt.Printf("syscall %d: %d\n", c.nr, c.n)
	}
	return nil
}
