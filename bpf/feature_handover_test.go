package bpf

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/syscall"
)

// risingCounter fails the test unless read() grows past from while
// system calls are made.
func risingCounter(t *testing.T, what string, from uint64, read func() uint64) uint64 {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; {
		triggerSyscalls()
		if n := read(); n > from {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the counter stays at %d", what, from)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestFeatureHandover: a set hands its running raw tracepoint program
// over to a successor through pins; the program counts throughout (its
// link outlives the first set and its Object), the successor adopts the
// counter map with its count, attaches its own instance and closes the
// old link, and in the end nothing is left pinned or attached.
func TestFeatureHandover(t *testing.T) {
	checkNoLeak(t)
	dir := bpffsDir(t)
	opts := &Options{ReleaseUnusedMaps: true}
	first, err := Open(testdata("features.o"), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	set1, err := NewFeatureSet([]*Object{first}, testFeatures, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer set1.Close()
	if err := set1.Enable(context.Background(), "enter"); err != nil {
		t.Fatal(err)
	}
	oldLinks := runningLinks(t, set1, "count_enter")
	if len(oldLinks) != 1 {
		t.Fatalf("count_enter links: %v", oldLinks)
	}
	count := risingCounter(t, "first set", 0, func() uint64 { return lookupU64(t, first.Map("hits"), 0) })

	// A directory that holds a handover already is refused, and the set
	// runs on.
	pending := filepath.Join(dir, handoverFeatures)
	if err := os.Mkdir(pending, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := set1.Handover(dir); !errors.Is(err, ErrHandoverPending) {
		t.Fatalf("handover onto a pending one: %v, want ErrHandoverPending", err)
	}
	if !set1.Enabled("enter") || !kernelLinkExists(t, oldLinks[0]) {
		t.Fatal("a refused handover stopped the set")
	}
	os.Remove(pending)

	if err := set1.Handover(dir); err != nil {
		t.Fatal(err)
	}
	if err := set1.Enable(context.Background(), "exit"); !errors.Is(err, ErrClosed) {
		t.Fatalf("enable after handover: %v, want ErrClosed", err)
	}
	first.Close()
	if !kernelLinkExists(t, oldLinks[0]) {
		t.Fatal("the link went with the first set")
	}
	hits, err := LoadPinnedMap(filepath.Join(dir, handoverObjects, pinElem("features.o"), "maps", "hits"))
	if err != nil {
		t.Fatal(err)
	}
	count = risingCounter(t, "between the two sets", count, func() uint64 { return lookupU64(t, hits, 0) })
	hits.Close()

	second := mustOpen(t, testdata("features.o"), opts)
	set2, err := NewFeatureSet([]*Object{second}, testFeatures, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer set2.Close()
	rep, err := set2.Resume(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("resumed: %+v", rep)
	if !slices.Equal(rep.Features, []string{"enter"}) || !slices.Contains(rep.Maps, "features.o/hits") ||
		!slices.Equal(rep.Replaced, []string{"features.o/count_enter/0"}) || len(rep.Updated) != 0 {
		t.Errorf("report %+v", rep)
	}
	if !set2.Enabled("enter") {
		t.Error("enter is not enabled after the resume")
	}
	newLinks := runningLinks(t, set2, "count_enter")
	if len(newLinks) != 1 || newLinks[0] == oldLinks[0] {
		t.Fatalf("count_enter links after resume: %v (old %v)", newLinks, oldLinks)
	}
	if !eventuallyGone(t, syscall.LinkGetFDByID, oldLinks[0]) {
		t.Error("the predecessor's link is still attached")
	}
	if got := lookupU64(t, second.Map("hits"), 0); got < count {
		t.Errorf("hits[0] = %d after the resume, was %d: the map was not adopted", got, count)
	}
	risingCounter(t, "second set", count, func() uint64 { return lookupU64(t, second.Map("hits"), 0) })
	for _, sub := range []string{handoverFeatures, handoverObjects} {
		if _, err := os.Lstat(filepath.Join(dir, sub)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left in the handover directory: %v", sub, err)
		}
	}
	// Nothing to resume a second time.
	if rep, err := set2.Resume(context.Background(), dir); err != nil || len(rep.Features) != 0 {
		t.Errorf("second resume: %+v, %v", rep, err)
	}

	if err := set2.Close(); err != nil {
		t.Fatal(err)
	}
	if !eventuallyGone(t, syscall.LinkGetFDByID, newLinks[0]) {
		t.Error("the link stays after Close")
	}
}

// predecessor is the first of two sets over the same object file: it has
// the named feature enabled; prepare, if given, runs on the Object first.
// Its Object is closed at the end of the test.
func predecessor(t *testing.T, path string, defs []Feature, opts *FeatureSetOptions, prepare func(*Object), feature string) (*Object, *FeatureSet) {
	t.Helper()
	obj, err := Open(testdata(path), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { obj.Close() })
	if prepare != nil {
		prepare(obj)
	}
	set, err := NewFeatureSet([]*Object{obj}, defs, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Enable(context.Background(), feature); err != nil {
		t.Fatal(err)
	}
	return obj, set
}

// handOver hands set over to dir and closes its Object, as a process
// that exits would.
func handOver(t *testing.T, obj *Object, set *FeatureSet, dir string) {
	t.Helper()
	if err := set.Handover(dir); err != nil {
		t.Fatal(err)
	}
	obj.Close()
}

// successor opens path again with a set over defs, closed at the end of
// the test.
func successor(t *testing.T, path string, defs []Feature, opts *FeatureSetOptions) (*Object, *FeatureSet) {
	t.Helper()
	obj := mustOpen(t, testdata(path), nil)
	set, err := NewFeatureSet([]*Object{obj}, defs, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { set.Close() })
	return obj, set
}

// resume resumes set from dir, failing the test if it cannot.
func resume(t *testing.T, set *FeatureSet, dir string) HandoverReport {
	t.Helper()
	rep, err := set.Resume(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestFeatureHandoverDropsWhatIsGone: a successor that no longer defines
// a feature leaves it off, and its predecessor's link goes with the pin.
func TestFeatureHandoverDropsWhatIsGone(t *testing.T) {
	checkNoLeak(t)
	dir := bpffsDir(t)
	first, set1 := predecessor(t, "features.o", testFeatures, nil, nil, "exit")
	old := runningLinks(t, set1, "count_exit")
	handOver(t, first, set1, dir)

	second, set2 := successor(t, "features.o", []Feature{{Name: "enter", Members: []Member{{"count_enter"}}}}, nil)
	rep := resume(t, set2, dir)
	if len(rep.Features) != 0 || !slices.Contains(rep.Dropped, "feature exit") || !slices.Contains(rep.Dropped, "link features.o/count_exit/0") {
		t.Errorf("report %+v", rep)
	}
	if !eventuallyGone(t, syscall.LinkGetFDByID, old[0]) {
		t.Error("the dropped feature's link is still attached")
	}
	if second.Program("count_exit").FD() >= 0 {
		t.Error("count_exit loaded for a feature this version does not have")
	}
}

// TestFeatureHandoverUpdatesInPlace: an XDP link, which the kernel
// switches to another program in place, is taken over as it is: the
// successor's status shows the same link id, now running its instance.
func TestFeatureHandoverUpdatesInPlace(t *testing.T) {
	ns := newTestNetns(t)
	checkNoLeak(t)
	dir := bpffsDir(t)
	features := []Feature{{Name: "xdp", Members: []Member{{"xdp_count"}}}}
	opts := &FeatureSetOptions{Attach: func(*Program) (AttachOptions, bool) {
		return AttachOptions{Interface: "lo", Netns: ns.path}, true
	}}
	first, set1 := predecessor(t, "attach_net.o", features, opts, nil, "xdp")
	old := runningLinks(t, set1, "xdp_count")
	oldProg := programStatus(t, set1, "xdp_count").ID
	handOver(t, first, set1, dir)

	_, set2 := successor(t, "attach_net.o", features, opts)
	rep := resume(t, set2, dir)
	if !slices.Equal(rep.Updated, []string{"attach_net.o/xdp_count/0"}) || len(rep.Replaced) != 0 {
		t.Errorf("report %+v", rep)
	}
	now := runningLinks(t, set2, "xdp_count")
	prog := programStatus(t, set2, "xdp_count").ID
	if !slices.Equal(now, old) || prog == oldProg || prog == 0 {
		t.Fatalf("links %v running program %d; before the handover links %v running %d", now, prog, old, oldProg)
	}
	fd, err := syscall.LinkGetFDByID(now[0])
	if err != nil {
		t.Fatal(err)
	}
	info, err := syscall.LinkInfoByFD(fd)
	closeFD(fd)
	if err != nil || info.ProgID != prog {
		t.Fatalf("link %d runs program %d (%v), want the successor's %d", now[0], info.ProgID, err, prog)
	}
	if err := set2.Close(); err != nil {
		t.Fatal(err)
	}
	if !eventuallyGone(t, syscall.LinkGetFDByID, now[0]) {
		t.Error("the link stays after Close")
	}
}

// TestFeatureHandoverFailedResume: a successor whose enable fails leaves
// the handover as it was (the old program runs on, still pinned) and
// nothing of its own in the kernel; the next successor takes over.
func TestFeatureHandoverFailedResume(t *testing.T) {
	checkNoLeak(t)
	dir := bpffsDir(t)
	first, set1 := predecessor(t, "features.o", testFeatures, nil, nil, "exit")
	old := runningLinks(t, set1, "count_exit")
	handOver(t, first, set1, dir)

	// This version's "exit" is a program the verifier refuses.
	broken := mustOpen(t, testdata("features.o"), nil)
	set2, err := NewFeatureSet([]*Object{broken}, []Feature{{Name: "exit", Members: []Member{{"bad_count"}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := set2.Resume(context.Background(), dir); err == nil {
		t.Fatal("resume with a program the verifier refuses worked")
	}
	set2.Close()
	broken.Close()
	if !kernelLinkExists(t, old[0]) {
		t.Fatal("a failed resume detached the old program")
	}
	if _, err := os.Lstat(filepath.Join(dir, handoverFeatures, "exit")); err != nil {
		t.Fatalf("a failed resume removed the handover: %v", err)
	}

	_, set3 := successor(t, "features.o", testFeatures, nil)
	if rep := resume(t, set3, dir); !slices.Equal(rep.Features, []string{"exit"}) {
		t.Fatalf("resume after a failed one: %+v", rep)
	}
	if !eventuallyGone(t, syscall.LinkGetFDByID, old[0]) || len(runningLinks(t, set3, "count_exit")) != 1 {
		t.Error("the third set did not take the hook over")
	}
}

// TestFeatureHandoverTracepoint: a tracepoint program (a perf event link)
// counting into .bss, its target pid in .data, is handed over: the
// successor adopts both data sections, so the getpid calls made while no
// set ran are counted and the filter holds without being set again.
func TestFeatureHandoverTracepoint(t *testing.T) {
	requireTracefs(t)
	warmPoller(t)
	checkNoLeak(t)
	dir := bpffsDir(t)
	features := []Feature{{Name: "tp", Members: []Member{{"tp_getpid"}}}}
	first, set1 := predecessor(t, "trace.o", features, nil, func(obj *Object) {
		pid, err := obj.Variable("target_pid")
		must(t, err)
		must(t, pid.Write(u32(uint32(unix.Getpid()))))
	}, "tp")
	old := runningLinks(t, set1, "tp_getpid")
	const n = 25
	for range n {
		rawGetpid()
	}
	before := readVarU64(t, first, "getpid_hits")
	if before < n {
		t.Fatalf("getpid_hits = %d after %d calls", before, n)
	}
	handOver(t, first, set1, dir)
	for range n {
		rawGetpid()
	}

	second, set2 := successor(t, "trace.o", features, nil)
	rep := resume(t, set2, dir)
	if !slices.Contains(rep.Maps, "trace.o/.bss") || !slices.Contains(rep.Maps, "trace.o/.data") || len(rep.Replaced) != 1 {
		t.Errorf("report %+v", rep)
	}
	if got := readVarU64(t, second, "getpid_hits"); got < before+n {
		t.Errorf("getpid_hits = %d after the resume; %d before the handover and %d calls since", got, before, n)
	}
	if !eventuallyGone(t, syscall.LinkGetFDByID, old[0]) {
		t.Error("the predecessor's link is still attached")
	}
	mid := readVarU64(t, second, "getpid_hits")
	for range n {
		rawGetpid()
	}
	if got := readVarU64(t, second, "getpid_hits"); got < mid+n {
		t.Errorf("getpid_hits = %d, %d before %d more calls: the successor's program does not count", got, mid, n)
	}
}
