package bpf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/testutil"
	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/syscall"
)

// injected is the errno the fault sweeps inject: no code path treats it
// specially, so it must travel up unchanged.
const injected = unix.EIO

// failNth makes the n-th bpf(2) from now fail with injected and counts
// every call; calls reports how many were made.
func failNth(n int) (calls func() int, stop func()) {
	var count atomic.Int64
	syscall.SetFaultHook(func(int) unix.Errno {
		if count.Add(1) == int64(n) {
			return injected
		}
		return 0
	})
	return func() int { return int(count.Load()) }, func() { syscall.SetFaultHook(nil) }
}

// kernelIDs are the highest program, map and link ids in the kernel.
type kernelIDs [3]uint32

var idWalks = [3]struct {
	kind string
	next func(uint32) (uint32, error)
}{{"prog", syscall.ProgGetNextID}, {"map", syscall.MapGetNextID}, {"link", syscall.LinkGetNextID}}

// newKernelObjects lists the programs, maps and links with ids above
// since: what an operation made. It only walks ids and never opens an
// object: opening a program array by id right after its last user fd
// closed can make the kernel leak it (the deferred clear of its elements
// takes a second reference that is never dropped).
func newKernelObjects(t *testing.T, since kernelIDs) (found []string, highest kernelIDs) {
	t.Helper()
	for i, w := range idWalks {
		for id := uint32(0); ; {
			next, err := w.next(id)
			if errors.Is(err, unix.ENOENT) {
				break
			}
			must(t, err)
			id = next
			highest[i] = max(highest[i], id)
			if id > since[i] {
				found = append(found, fmt.Sprintf("%s %d", w.kind, id))
			}
		}
	}
	return found, highest
}

func highestKernelIDs(t *testing.T) kernelIDs {
	_, ids := newKernelObjects(t, kernelIDs{^uint32(0), ^uint32(0), ^uint32(0)})
	return ids
}

// waitNoNewKernelObjects waits for the kernel to free what an Object
// released: a program's maps go with the program, after an RCU grace
// period.
func waitNoNewKernelObjects(t *testing.T, since kernelIDs) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		left, _ := newKernelObjects(t, since)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("left in the kernel: %v", left)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// faultCase is an operation swept with a failure at each of its bpf(2)
// calls in turn.
type faultCase struct {
	name string
	path string
	opts func(t *testing.T) *Options
	// prepare runs before the faults start; op is what is swept.
	prepare func(*Object) error
	op      func(*Object) error
	// undone checks that a failed op left nothing of itself; redone,
	// when set, checks what the retry did.
	undone, redone func(t *testing.T, obj *Object)
}

func noneLoadedNoneLive(t *testing.T, obj *Object) {
	t.Helper()
	for _, p := range obj.Programs() {
		if p.FD() >= 0 {
			t.Fatalf("program %s loaded after a failed load", p.Name())
		}
	}
	for _, m := range obj.Maps() {
		if m.Live() {
			t.Fatalf("map %s live after a failed load", m.Name())
		}
	}
}

func loadAll(obj *Object) error { return obj.Load(context.Background()) }

func TestFaultInjection(t *testing.T) {
	requireKernel(t)
	pinned := func(t *testing.T) *Options { return &Options{PinPath: filepath.Join(bpffsDir(t), "pins")} }
	cases := []faultCase{
		{name: "Object.Load map-in-map", path: "mapinmap.o", op: loadAll, undone: noneLoadedNoneLive},
		{name: "Object.Load prog-array", path: "tailcall.o", op: loadAll, undone: noneLoadedNoneLive},
		{name: "Object.Load pinned", path: "pinned.o", opts: pinned, op: loadAll, undone: func(t *testing.T, obj *Object) {
			noneLoadedNoneLive(t, obj)
			entries, _ := os.ReadDir(obj.opts.PinPath)
			if len(entries) != 0 {
				t.Fatalf("pins left after a failed load: %v", entries)
			}
		}},
		{name: "Object.Load globals and BTF", path: "loader.o", op: loadAll, undone: noneLoadedNoneLive,
			redone: func(t *testing.T, obj *Object) {
				// A transient failure of the object's BTF load is not
				// kept: the retry loads every program with its BTF.
				for _, p := range obj.Programs() {
					info, err := syscall.ProgInfoByFD(p.FD())
					must(t, err)
					if info.BTFID == 0 {
						t.Fatalf("%s loaded without BTF on the retry", p.Name())
					}
				}
			}},
		{
			name: "Program.Load dynamic", path: "dynload.o",
			prepare: func(obj *Object) error {
				if err := obj.Program("prog3").SetLoadType(LoadDynamic); err != nil {
					return err
				}
				return obj.Load(context.Background())
			},
			op: func(obj *Object) error { return obj.Program("prog3").Load() },
			undone: func(t *testing.T, obj *Object) {
				if obj.Program("prog3").FD() >= 0 {
					t.Fatal("prog3 loaded after a failed load")
				}
			},
		},
		{
			name: "Map.Create global data", path: "loader.o",
			op: func(obj *Object) error { return obj.Map(".rodata").Create() },
			undone: func(t *testing.T, obj *Object) {
				if obj.Map(".rodata").Live() {
					t.Fatal(".rodata live after a failed create")
				}
			},
		},
		{
			name: "Attach raw_tp", path: "dynload.o",
			prepare: func(obj *Object) error { return obj.Load(context.Background()) },
			op: func(obj *Object) error {
				l, err := obj.Program("prog2").Attach()
				if err == nil {
					l.Close()
				}
				return err
			},
			undone: func(*testing.T, *Object) {},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			points := 0
			for k := 1; ; k++ {
				done := sweepOnce(t, c, k)
				if done {
					break
				}
				points++
			}
			if points == 0 {
				t.Fatal("the operation made no bpf(2) call")
			}
			t.Logf("%d fault points", points)
		})
	}
}

// sweepOnce runs c's op with its k-th bpf(2) failing, checks the failure
// is reported and undone, that a retry succeeds, and that Close leaves
// nothing. It reports true once op makes fewer than k calls.
func sweepOnce(t *testing.T, c faultCase, k int) (done bool) {
	t.Helper()
	before := testutil.OpenFDs(t)
	var opts *Options
	if c.opts != nil {
		opts = c.opts(t)
	}
	ids := highestKernelIDs(t)
	obj, err := Open(testdata(c.path), opts)
	must(t, err)
	if c.prepare != nil {
		must(t, c.prepare(obj))
	}
	calls, stop := failNth(k)
	err = c.op(obj)
	stop()
	switch {
	case calls() < k:
		if err != nil {
			t.Fatalf("without a fault: %v", err)
		}
		done = true
	case err == nil:
		// The failed call was one rawload may do without (a retry
		// without BTF, a probe): the operation still succeeded.
	case !errors.Is(err, injected):
		t.Fatalf("fault at call %d: %v, want it to wrap %v", k, err, injected)
	default:
		c.undone(t, obj)
		if err := c.op(obj); err != nil {
			t.Fatalf("retry after a fault at call %d: %v", k, err)
		}
		if c.redone != nil {
			c.redone(t, obj)
		}
	}
	must(t, obj.Close())
	if after := testutil.OpenFDs(t); after != before {
		t.Fatalf("fault at call %d: %d fds open after Close, %d before", k, after, before)
	}
	if opts != nil && opts.PinPath != "" {
		// Pins outlive their Object by design; these are the test's own.
		must(t, os.RemoveAll(opts.PinPath))
	}
	waitNoNewKernelObjects(t, ids)
	return done
}

// TestLoadCancelledMidway cancels Object.Load while its workers are
// loading: what they loaded and created must be undone.
func TestLoadCancelledMidway(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	ids := highestKernelIDs(t)
	obj := mustOpen(t, testdata("huge.o"), &Options{Parallelism: 2})
	ctx, cancel := context.WithCancel(context.Background())
	var loads atomic.Int64
	syscall.SetFaultHook(func(cmd int) unix.Errno {
		if cmd == uapi.CmdProgLoad && loads.Add(1) == 10 {
			cancel()
		}
		return 0
	})
	err := obj.Load(ctx)
	syscall.SetFaultHook(nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Load cancelled midway: %v, want context.Canceled", err)
	}
	if loads.Load() < 10 {
		t.Fatalf("only %d loads before the cancellation", loads.Load())
	}
	noneLoadedNoneLive(t, obj)
	waitNoNewKernelObjects(t, ids)
	// Cancelled is failed: the same Object loads when asked again.
	must(t, obj.Load(context.Background()))
	for _, p := range obj.Programs() {
		if p.FD() < 0 {
			t.Fatalf("%s not loaded by the second Load", p.Name())
		}
	}
}
