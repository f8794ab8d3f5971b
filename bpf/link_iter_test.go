package bpf

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/syscall"
)

func readIterator(t *testing.T, l *Link) []byte {
	t.Helper()
	it, err := l.OpenIterator()
	must(t, err)
	defer it.Close()
	out, err := io.ReadAll(it)
	must(t, err)
	return out
}

// TestIterMaps attaches iter/bpf_map and reads one line per map of the
// system: the maps of this object are among them, and a reload switches
// the link in place.
func TestIterMaps(t *testing.T) {
	requireKernel(t)
	requireKernelBTF(t)
	checkNoLeak(t)
	obj := openAttachTracing(t, 0)
	p := loadProgram(t, obj, "iter_maps")
	l, err := p.Attach()
	must(t, err)
	defer l.Close()
	info, err := l.Info()
	must(t, err)
	if info.Type != uapi.LinkTypeIter || l.Kind != "iter" || l.Target != "bpf_map" {
		t.Errorf("link %s on %s of type %d", l.Kind, l.Target, info.Type)
	}
	rodata := obj.Map(".rodata") // the program's format strings: live while it is loaded
	if !rodata.Live() {
		t.Fatal(".rodata is not live")
	}
	mapInfo, err := syscall.MapInfoByFD(rodata.FD())
	must(t, err)
	want := fmt.Sprintf("map %d", mapInfo.ID)
	out := readIterator(t, l)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if !containsLine(lines, want) {
		t.Errorf("%d lines without %q:\n%s", len(lines), want, out)
	}
	for _, line := range lines {
		var id uint32
		if _, err := fmt.Sscanf(line, "map %d", &id); err != nil {
			t.Errorf("line %q", line)
		}
	}

	linkFD := l.FD()
	must(t, p.Reload())
	if l.FD() != linkFD {
		t.Errorf("the reload made a new link (fd %d, was %d): iterator links update in place", l.FD(), linkFD)
	}
	info, err = l.Info()
	must(t, err)
	id, err := progInfo(p)
	must(t, err)
	if info.ProgID != id {
		t.Errorf("the link runs program %d, the loaded instance is %d", info.ProgID, id)
	}
	if out := readIterator(t, l); !containsLine(strings.Split(string(out), "\n"), want) {
		t.Errorf("after the reload, no %q:\n%s", want, out)
	}
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

// TestIterTasks attaches iter/task for this process only (PID in the
// link's iter info) and for every task: the first lists exactly this
// process's threads, the main thread among them; the second other
// processes' as well.
func TestIterTasks(t *testing.T) {
	requireKernel(t)
	requireKernelBTF(t)
	checkNoLeak(t)
	obj := openAttachTracing(t, 0)
	p := loadProgram(t, obj, "iter_tasks")
	pid := unix.Getpid()

	mine, err := p.AttachWith(AttachOptions{PID: pid})
	must(t, err)
	defer mine.Close()
	out := readIterator(t, mine)
	threads := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	sawMain := false
	for sc.Scan() {
		var tgid, tid int
		if _, err := fmt.Sscanf(sc.Text(), "%d %d", &tgid, &tid); err != nil {
			t.Fatalf("line %q", sc.Text())
		}
		if tgid != pid {
			t.Errorf("task %d of process %d listed by an iterator of process %d", tid, tgid, pid)
		}
		sawMain = sawMain || tid == pid
		threads++
	}
	if !sawMain || threads == 0 {
		t.Errorf("%d threads, main thread listed: %v:\n%s", threads, sawMain, out)
	}

	all, err := p.Attach()
	must(t, err)
	defer all.Close()
	lines := strings.Split(strings.TrimSpace(string(readIterator(t, all))), "\n")
	own := fmt.Sprintf("%d %d", pid, pid)
	others := 0
	for _, line := range lines {
		if !strings.HasPrefix(line, fmt.Sprint(pid)+" ") {
			others++
		}
	}
	if !containsLine(lines, own) || others == 0 {
		t.Errorf("every task: %d lines, %d of other processes, %q among them: %v", len(lines), others, own, containsLine(lines, own))
	}
}

// TestIterMapElements attaches iter/bpf_map_elem to a map of the object
// (AttachOptions.Map): it reads each value. This project's kernel refuses
// map element iterators at load (EPERM, with an empty log); the test
// skips there.
func TestIterMapElements(t *testing.T) {
	requireKernel(t)
	requireKernelBTF(t)
	checkNoLeak(t)
	obj := openAttachTracing(t, 0)
	p := obj.Program("iter_elems")
	if err := p.Load(); err != nil {
		if errors.Is(err, unix.EPERM) {
			t.Skipf("this kernel refuses map element iterators: %v", err)
		}
		t.Fatal(err)
	}
	if _, err := p.Attach(); !errors.Is(err, ErrAttachTargetMissing) {
		t.Errorf("no map: %v", err)
	}
	values := obj.Map("iter_values")
	for k := range uint32(4) {
		must(t, values.Update(u32(k), u64(uint64(100+k))))
	}
	l, err := p.AttachWith(AttachOptions{Map: values})
	must(t, err)
	defer l.Close()
	out := readIterator(t, l)
	if len(out) != 32 {
		t.Fatalf("%d bytes, want 4 values of 8", len(out))
	}
	for k := range 4 {
		if v := binary.NativeEndian.Uint64(out[8*k:]); v != uint64(100+k) {
			t.Errorf("value %d = %d", k, v)
		}
	}
}

// TestIteratorErrors: only an open iterator link can be read, and a
// closed Iterator says so.
func TestIteratorErrors(t *testing.T) {
	requireKernel(t)
	requireKernelBTF(t)
	requireTracefs(t)
	checkNoLeak(t)
	obj := openAttachTracing(t, 0)
	tp, err := loadProgram(t, obj, "tp_getpid_tid").Attach()
	must(t, err)
	defer tp.Close()
	if _, err := tp.OpenIterator(); err == nil {
		t.Error("a tracepoint link was read as an iterator")
	}
	l, err := loadProgram(t, obj, "iter_maps").Attach()
	must(t, err)
	it, err := l.OpenIterator()
	must(t, err)
	must(t, it.Close())
	if _, err := it.Read(make([]byte, 10)); err == nil {
		t.Error("a closed iterator read")
	}
	must(t, l.Close())
	if _, err := l.OpenIterator(); !errors.Is(err, ErrLinkClosed) {
		t.Errorf("closed link: %v", err)
	}
}
