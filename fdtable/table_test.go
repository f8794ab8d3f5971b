package fdtable

import (
	"errors"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// These tests observe the process fd table, so none of them runs in
// parallel with another: a concurrent open could take a number a test
// expects to be closed.

func newTable(t *testing.T) *Table {
	t.Helper()
	tab, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tab.Close(); err != nil {
			t.Error(err)
		}
	})
	return tab
}

func reserve(t *testing.T, tab *Table) int {
	t.Helper()
	slot, err := tab.Reserve()
	if err != nil {
		t.Fatal(err)
	}
	return slot
}

type fileID struct{ dev, ino uint64 }

func identify(t *testing.T, fd int) fileID {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatalf("fstat fd %d: %v", fd, err)
	}
	return fileID{st.Dev, st.Ino}
}

func eventfd(t *testing.T) (int, fileID) {
	t.Helper()
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	return fd, identify(t, fd)
}

// pipe is non-blocking so that a write end left open by mistake makes a
// read fail with EAGAIN instead of hanging the test.
func pipe(t *testing.T) (r, w int) {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(p[0]) })
	return p[0], p[1]
}

func requireClosed(t *testing.T, fd int) {
	t.Helper()
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); !errors.Is(err, unix.EBADF) {
		t.Fatalf("fd %d: F_GETFD error = %v, want EBADF", fd, err)
	}
}

func requireCloexec(t *testing.T, fd int) {
	t.Helper()
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil {
		t.Fatalf("fd %d: F_GETFD: %v", fd, err)
	}
	if flags&unix.FD_CLOEXEC == 0 {
		t.Fatalf("fd %d is not close-on-exec", fd)
	}
}

func requirePlaceholder(t *testing.T, tab *Table, slot int, want bool) {
	t.Helper()
	got, err := tab.IsPlaceholder(slot)
	if err != nil {
		t.Fatalf("IsPlaceholder(%d): %v", slot, err)
	}
	if got != want {
		t.Fatalf("IsPlaceholder(%d) = %v, want %v", slot, got, want)
	}
}

// openFDs lists the process's open descriptors, leaving out the one the
// listing itself uses.
func openFDs(t *testing.T) []string {
	t.Helper()
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		t.Fatal(err)
	}
	self := strconv.Itoa(int(d.Fd()))
	names = slices.DeleteFunc(names, func(n string) bool { return n == self })
	slices.Sort(names)
	return names
}

func TestReserveMany(t *testing.T) {
	tab := newTable(t)
	seen := make(map[int]bool)
	for range 500 {
		slot := reserve(t, tab)
		if slot < 3 {
			t.Fatalf("slot %d overlaps the standard streams", slot)
		}
		if seen[slot] {
			t.Fatalf("slot %d reserved twice", slot)
		}
		seen[slot] = true
		requireCloexec(t, slot)
		requirePlaceholder(t, tab, slot, true)
	}
	if tab.Len() != 500 {
		t.Fatalf("Len() = %d, want 500", tab.Len())
	}
	if seen[tab.placeholder] {
		t.Fatalf("placeholder fd %d handed out as a slot", tab.placeholder)
	}

	if err := tab.Close(); err != nil {
		t.Fatal(err)
	}
	for slot := range seen {
		requireClosed(t, slot)
	}
}

func TestInstallVacate(t *testing.T) {
	tab := newTable(t)
	slot := reserve(t, tab)
	placeholder := identify(t, slot)

	fd, id := eventfd(t)
	if err := tab.Install(slot, fd); err != nil {
		t.Fatal(err)
	}
	requireClosed(t, fd)
	if got := identify(t, slot); got != id {
		t.Fatalf("slot %d refers to %+v after Install, want the eventfd %+v", slot, got, id)
	}
	requireCloexec(t, slot)
	requirePlaceholder(t, tab, slot, false)

	if err := tab.Vacate(slot); err != nil {
		t.Fatal(err)
	}
	if got := identify(t, slot); got != placeholder {
		t.Fatalf("slot %d refers to %+v after Vacate, want the placeholder %+v", slot, got, placeholder)
	}
	requireCloexec(t, slot)
	requirePlaceholder(t, tab, slot, true)
	if tab.Len() != 1 {
		t.Fatalf("Len() = %d, want 1", tab.Len())
	}
}

// The slot must be a working reference, and Vacate must drop it: with the
// pipe's write end moved into a slot, data written through the slot
// arrives, and vacating the slot leaves the reader at end of file.
func TestSlotHoldsTheOnlyReference(t *testing.T) {
	tab := newTable(t)
	slot := reserve(t, tab)
	r, w := pipe(t)

	if err := tab.Install(slot, w); err != nil {
		t.Fatal(err)
	}
	requireClosed(t, w)
	if _, err := unix.Write(slot, []byte("map")); err != nil {
		t.Fatalf("write through slot %d: %v", slot, err)
	}
	buf := make([]byte, 8)
	if n, err := unix.Read(r, buf); err != nil || string(buf[:n]) != "map" {
		t.Fatalf("read = %q, %v; want \"map\"", buf[:n], err)
	}

	if err := tab.Vacate(slot); err != nil {
		t.Fatal(err)
	}
	if n, err := unix.Read(r, buf); n != 0 || err != nil {
		t.Fatalf("read after Vacate = %d, %v; want end of file", n, err)
	}
}

func TestInstallReplacesInstalled(t *testing.T) {
	tab := newTable(t)
	slot := reserve(t, tab)
	r, w := pipe(t)
	if err := tab.Install(slot, w); err != nil {
		t.Fatal(err)
	}

	fd, id := eventfd(t)
	if err := tab.Install(slot, fd); err != nil {
		t.Fatal(err)
	}
	if got := identify(t, slot); got != id {
		t.Fatalf("slot refers to %+v, want the second object %+v", got, id)
	}
	buf := make([]byte, 1)
	if n, err := unix.Read(r, buf); n != 0 || err != nil {
		t.Fatalf("first object still referenced: read = %d, %v", n, err)
	}
}

func TestInstallBadFD(t *testing.T) {
	tab := newTable(t)
	slot := reserve(t, tab)
	fd, _ := eventfd(t)
	unix.Close(fd)

	if err := tab.Install(slot, fd); !errors.Is(err, unix.EBADF) {
		t.Fatalf("Install of closed fd: error = %v, want EBADF", err)
	}
	requirePlaceholder(t, tab, slot, true)
	if err := tab.Install(slot, -1); !errors.Is(err, unix.EBADF) {
		t.Fatalf("Install of fd -1: error = %v, want EBADF", err)
	}
	requirePlaceholder(t, tab, slot, true)
}

// Installing one of the Table's own descriptors would close it; that must
// be refused and leave everything as it was.
func TestInstallOwnFD(t *testing.T) {
	tab := newTable(t)
	a, b := reserve(t, tab), reserve(t, tab)
	for _, fd := range []int{a, b, tab.placeholder} {
		if err := tab.Install(a, fd); !errors.Is(err, unix.EINVAL) {
			t.Fatalf("Install(%d, %d): error = %v, want EINVAL", a, fd, err)
		}
		requireCloexec(t, fd)
	}
	requirePlaceholder(t, tab, a, true)
	requirePlaceholder(t, tab, b, true)
	if s := reserve(t, tab); s < 3 {
		t.Fatalf("placeholder broken: Reserve = %d", s)
	}
}

func TestRelease(t *testing.T) {
	tab := newTable(t)
	keep := reserve(t, tab)
	slot := reserve(t, tab)
	fd, _ := eventfd(t)
	if err := tab.Install(slot, fd); err != nil {
		t.Fatal(err)
	}

	if err := tab.Release(slot); err != nil {
		t.Fatal(err)
	}
	requireClosed(t, slot)
	if tab.Len() != 1 {
		t.Fatalf("Len() = %d, want 1", tab.Len())
	}
	if err := tab.Release(slot); !errors.Is(err, ErrUnknownSlot) {
		t.Fatalf("second Release: error = %v, want ErrUnknownSlot", err)
	}
	if err := tab.Vacate(slot); !errors.Is(err, ErrUnknownSlot) {
		t.Fatalf("Vacate after Release: error = %v, want ErrUnknownSlot", err)
	}
	requirePlaceholder(t, tab, keep, true)
}

// The Table must never act on a number it does not own, even one that is
// open in the process: that fd belongs to someone else.
func TestUnknownSlot(t *testing.T) {
	tab := newTable(t)
	reserve(t, tab)
	foreign, foreignID := eventfd(t)
	defer unix.Close(foreign)

	for _, slot := range []int{-1, 0, 1, 2, foreign, tab.placeholder, 1 << 20} {
		if err := tab.Vacate(slot); !errors.Is(err, ErrUnknownSlot) {
			t.Errorf("Vacate(%d): error = %v, want ErrUnknownSlot", slot, err)
		}
		if err := tab.Release(slot); !errors.Is(err, ErrUnknownSlot) {
			t.Errorf("Release(%d): error = %v, want ErrUnknownSlot", slot, err)
		}
		if _, err := tab.IsPlaceholder(slot); !errors.Is(err, ErrUnknownSlot) {
			t.Errorf("IsPlaceholder(%d): error = %v, want ErrUnknownSlot", slot, err)
		}
		fd, _ := eventfd(t)
		if err := tab.Install(slot, fd); !errors.Is(err, ErrUnknownSlot) {
			t.Errorf("Install(%d, %d): error = %v, want ErrUnknownSlot", slot, fd, err)
		}
		requireClosed(t, fd) // consumed even on error
	}
	if got := identify(t, foreign); got != foreignID {
		t.Fatalf("foreign fd %d changed: %+v, want %+v", foreign, got, foreignID)
	}
	if tab.Len() != 1 {
		t.Fatalf("Len() = %d, want 1", tab.Len())
	}
}

func TestClosed(t *testing.T) {
	tab, err := New()
	if err != nil {
		t.Fatal(err)
	}
	slot := reserve(t, tab)
	if err := tab.Close(); err != nil {
		t.Fatal(err)
	}
	requireClosed(t, slot)

	if _, err := tab.Reserve(); !errors.Is(err, ErrClosed) {
		t.Errorf("Reserve: error = %v, want ErrClosed", err)
	}
	if err := tab.Vacate(slot); !errors.Is(err, ErrClosed) {
		t.Errorf("Vacate: error = %v, want ErrClosed", err)
	}
	if err := tab.Release(slot); !errors.Is(err, ErrClosed) {
		t.Errorf("Release: error = %v, want ErrClosed", err)
	}
	if _, err := tab.IsPlaceholder(slot); !errors.Is(err, ErrClosed) {
		t.Errorf("IsPlaceholder: error = %v, want ErrClosed", err)
	}
	fd, _ := eventfd(t)
	if err := tab.Install(slot, fd); !errors.Is(err, ErrClosed) {
		t.Errorf("Install: error = %v, want ErrClosed", err)
	}
	requireClosed(t, fd)
	if tab.Len() != 0 {
		t.Errorf("Len() = %d after Close", tab.Len())
	}
	for range 2 {
		if err := tab.Close(); err != nil {
			t.Errorf("repeated Close: %v", err)
		}
	}
}

func TestNoLeak(t *testing.T) {
	openFDs(t) // let the runtime open whatever it opens lazily
	before := openFDs(t)

	tab, err := New()
	if err != nil {
		t.Fatal(err)
	}
	var slots []int
	for range 20 {
		slots = append(slots, reserve(t, tab))
	}
	for i, slot := range slots {
		fd, _ := eventfd(t)
		if err := tab.Install(slot, fd); err != nil {
			t.Fatal(err)
		}
		switch i % 3 {
		case 0:
			if err := tab.Vacate(slot); err != nil {
				t.Fatal(err)
			}
		case 1:
			if err := tab.Release(slot); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Consumed on failure too.
	fd, _ := eventfd(t)
	if err := tab.Install(-1, fd); err == nil {
		t.Fatal("Install into slot -1 succeeded")
	}
	if err := tab.Close(); err != nil {
		t.Fatal(err)
	}

	if after := openFDs(t); !slices.Equal(before, after) {
		t.Fatalf("open fds before New %v, after Close %v", before, after)
	}
}

func TestConcurrent(t *testing.T) {
	openFDs(t)
	before := openFDs(t)

	tab, err := New()
	if err != nil {
		t.Fatal(err)
	}
	const workers, rounds = 8, 60
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		kept = make(map[int]bool)
	)
	for range workers {
		wg.Go(func() {
			for i := range rounds {
				slot, err := tab.Reserve()
				if err != nil {
					t.Error(err)
					return
				}
				// Fatal is for the test goroutine only, so no helpers here.
				fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
				if err != nil {
					t.Error(err)
					return
				}
				var want, got unix.Stat_t
				if err := unix.Fstat(fd, &want); err != nil {
					t.Error(err)
					unix.Close(fd)
					return
				}
				if err := tab.Install(slot, fd); err != nil {
					t.Error(err)
					return
				}
				// Another goroutine's Install must never land in this slot.
				if err := unix.Fstat(slot, &got); err != nil || got.Ino != want.Ino || got.Dev != want.Dev {
					t.Errorf("slot %d refers to ino %d (err %v), want the eventfd's ino %d", slot, got.Ino, err, want.Ino)
				}
				if err := tab.Vacate(slot); err != nil {
					t.Error(err)
					return
				}
				if ok, err := tab.IsPlaceholder(slot); err != nil || !ok {
					t.Errorf("IsPlaceholder(%d) = %v, %v after Vacate", slot, ok, err)
				}
				if i%2 == 0 {
					if err := tab.Release(slot); err != nil {
						t.Error(err)
					}
					continue
				}
				mu.Lock()
				if kept[slot] {
					t.Errorf("slot %d handed out twice", slot)
				}
				kept[slot] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	if want := workers * rounds / 2; tab.Len() != want || len(kept) != want {
		t.Fatalf("Len() = %d, distinct kept slots %d, want %d", tab.Len(), len(kept), want)
	}
	for slot := range kept {
		requirePlaceholder(t, tab, slot, true)
	}
	if err := tab.Close(); err != nil {
		t.Fatal(err)
	}
	if after := openFDs(t); !slices.Equal(before, after) {
		t.Fatalf("open fds before New %v, after Close %v", before, after)
	}
}
