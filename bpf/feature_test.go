package bpf

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/syscall"
)

// features.o: hits[0] counts count_fexit or count_enter, hits[1]
// count_exit, hits[2] count_other; bad_count fails verification.
var testFeatures = []Feature{
	{Name: "trace", Members: []Member{{"count_fexit", "count_enter"}}},
	{Name: "enter", Members: []Member{{"count_enter"}}},
	{Name: "exit", Members: []Member{{"count_exit*"}}},
	{Name: "broken", Members: []Member{{"count_other"}, {"bad_count"}}},
}

func newTestFeatureSet(t *testing.T, opts *Options) (*Object, *FeatureSet) {
	t.Helper()
	obj := mustOpen(t, testdata("features.o"), opts)
	set, err := NewFeatureSet([]*Object{obj}, testFeatures, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := set.Close(); err != nil {
			t.Errorf("closing the feature set: %v", err)
		}
	})
	return obj, set
}

func programStatus(t *testing.T, set *FeatureSet, name string) ProgramStatus {
	t.Helper()
	for _, ps := range set.Status().Programs {
		if ps.Name == name {
			return ps
		}
	}
	t.Fatalf("no program %s in the status", name)
	return ProgramStatus{}
}

func featureStatus(t *testing.T, set *FeatureSet, name string) FeatureStatus {
	t.Helper()
	for _, fs := range set.Status().Features {
		if fs.Name == name {
			return fs
		}
	}
	t.Fatalf("no feature %s in the status", name)
	return FeatureStatus{}
}

// kernelLinkExists asks the kernel whether a link id is still there.
func kernelLinkExists(t *testing.T, id uint32) bool {
	t.Helper()
	fd, err := syscall.LinkGetFDByID(id)
	if err == nil {
		unix.Close(fd)
		return true
	}
	if !errors.Is(err, unix.ENOENT) {
		t.Fatalf("link %d: %v", id, err)
	}
	return false
}

// eventuallyGone reports whether the kernel object of that id goes
// within a few seconds: programs and maps go after an RCU grace period.
func eventuallyGone(t *testing.T, getFD func(uint32) (int, error), id uint32) bool {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		fd, err := getFD(id)
		if errors.Is(err, unix.ENOENT) {
			return true
		}
		if err == nil {
			unix.Close(fd)
		} else {
			t.Fatalf("id %d: %v", id, err)
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// runningLinks is the link ids of a program, each checked in the kernel.
func runningLinks(t *testing.T, set *FeatureSet, name string) []uint32 {
	t.Helper()
	ps := programStatus(t, set, name)
	var ids []uint32
	for _, l := range ps.Links {
		if l.ID == 0 || !kernelLinkExists(t, l.ID) {
			t.Errorf("%s: link %+v is not in the kernel", name, l)
		}
		ids = append(ids, l.ID)
	}
	return ids
}

// triggerSyscalls makes system calls, which the raw tracepoint programs
// count.
func triggerSyscalls() {
	for range 100 {
		unix.Getpid()
	}
}

// TestFeatureAlternativeFallback: on this kernel fexit is refused, so the
// raw tracepoint fallback runs, the fexit program is never left loaded,
// and the status says why it was skipped.
func TestFeatureAlternativeFallback(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj, set := newTestFeatureSet(t, &Options{ReleaseUnusedMaps: true})
	if err := set.Enable(context.Background(), "trace"); err != nil {
		t.Fatal(err)
	}
	fs := featureStatus(t, set, "trace")
	if !fs.Enabled || len(fs.Members) != 1 {
		t.Fatalf("status %+v", fs)
	}
	ms := fs.Members[0]
	if ms.Chosen == 0 {
		// A kernel that allows trampolines runs the first choice.
		t.Logf("the kernel allows trampolines: count_fexit runs")
		if ps := programStatus(t, set, "count_fexit"); !ps.Loaded || len(ps.Links) != 1 {
			t.Errorf("count_fexit: %+v", ps)
		}
		return
	}
	if ms.Chosen != 1 || len(ms.Programs) != 1 || ms.Programs[0] != "count_enter" {
		t.Fatalf("member %+v, want count_enter chosen", ms)
	}
	if len(ms.Skipped) != 1 || ms.Skipped[0].Pattern != "count_fexit" || !errors.Is(ms.Skipped[0].Err, unix.EPERM) {
		t.Fatalf("skipped %+v, want count_fexit refused with EPERM", ms.Skipped)
	}
	var verr *VerifierError
	if !errors.As(ms.Skipped[0].Err, &verr) || verr.Program != "count_fexit" {
		t.Errorf("skip reason %v is not count_fexit's load failure", ms.Skipped[0].Err)
	}
	t.Logf("count_fexit skipped: %v", ms.Skipped[0].Err)
	if ps := programStatus(t, set, "count_fexit"); ps.Loaded || len(ps.Links) != 0 || len(ps.Features) != 0 {
		t.Errorf("count_fexit: %+v, want not loaded", ps)
	}
	ps := programStatus(t, set, "count_enter")
	if !ps.Loaded || ps.ID == 0 || ps.VerifiedInsns == 0 || ps.LoadTime <= 0 || len(ps.Features) != 1 || ps.Features[0] != "trace" {
		t.Errorf("count_enter: %+v", ps)
	}
	links := runningLinks(t, set, "count_enter")
	if len(links) != 1 || ps.Links[0].Kind != "raw_tracepoint" || ps.Links[0].Target != "sys_enter" {
		t.Fatalf("count_enter links %+v", ps.Links)
	}
	triggerSyscalls()
	if n := lookupU64(t, obj.Map("hits"), 0); n == 0 {
		t.Error("count_enter counted no system call")
	}

	if err := set.Disable("trace"); err != nil {
		t.Fatal(err)
	}
	if !eventuallyGone(t, syscall.LinkGetFDByID, links[0]) {
		t.Error("the link outlived Disable")
	}
	if !eventuallyGone(t, syscall.ProgGetFDByID, ps.ID) {
		t.Error("the program outlived Disable")
	}
	if ps := programStatus(t, set, "count_enter"); ps.Loaded || len(ps.Links) != 0 {
		t.Errorf("count_enter after Disable: %+v", ps)
	}
	if obj.Map("hits").Live() {
		t.Error("hits is live with no user, under ReleaseUnusedMaps")
	}
	if fs := featureStatus(t, set, "trace"); fs.Enabled || fs.Members[0].Chosen != -1 {
		t.Errorf("status after Disable: %+v", fs)
	}
}

// TestFeatureSharedMapLifetime: two features share hits; in every order
// of enabling and disabling, the map lives exactly while one of their
// programs is loaded.
func TestFeatureSharedMapLifetime(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj, set := newTestFeatureSet(t, &Options{ReleaseUnusedMaps: true})
	hits := obj.Map("hits")
	ctx := context.Background()
	orders := [][2]string{{"enter", "exit"}, {"exit", "enter"}}
	for _, on := range orders {
		for _, off := range orders {
			t.Run(fmt.Sprintf("on_%s_%s_off_%s_%s", on[0], on[1], off[0], off[1]), func(t *testing.T) {
				var id uint32
				for i, name := range on {
					if err := set.Enable(ctx, name); err != nil {
						t.Fatal(err)
					}
					info, err := hits.Info()
					if err != nil {
						t.Fatalf("after enabling %s: %v", name, err)
					}
					if i == 1 && info.ID != id {
						t.Errorf("hits was recreated (id %d, then %d) while in use", id, info.ID)
					}
					id = info.ID
					if u := hits.Users(); u != i+1 {
						t.Errorf("hits has %d users, want %d", u, i+1)
					}
				}
				if err := set.Disable(off[0]); err != nil {
					t.Fatal(err)
				}
				if info, err := hits.Info(); err != nil || info.ID != id {
					t.Errorf("hits after disabling %s with %s enabled: %+v, %v", off[0], off[1], info, err)
				}
				if err := set.Disable(off[1]); err != nil {
					t.Fatal(err)
				}
				if hits.Live() {
					t.Error("hits outlived its last user")
				}
				if !eventuallyGone(t, syscall.MapGetFDByID, id) {
					t.Errorf("map %d is still in the kernel", id)
				}
			})
		}
	}
}

// TestFeatureConcurrent enables and disables features sharing a map and
// a program from several goroutines in random orders, with Status read
// beside them; the map is live exactly while it has users, and when all
// is disabled nothing is left.
func TestFeatureConcurrent(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj, set := newTestFeatureSet(t, &Options{ReleaseUnusedMaps: true})
	hits := obj.Map("hits")
	ctx := context.Background()
	groups := [][]string{{"trace"}, {"enter"}, {"exit"}, {"trace", "exit"}, {"enter", "exit"}}
	const workers, rounds = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds*2)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 12))
			for range rounds {
				g := groups[r.IntN(len(groups))]
				if err := set.Enable(ctx, g...); err != nil {
					errs <- fmt.Errorf("enable %v: %w", g, err)
				}
				if r.IntN(2) == 0 {
					time.Sleep(time.Duration(r.IntN(500)) * time.Microsecond)
				}
				g = groups[r.IntN(len(groups))]
				if err := set.Disable(g...); err != nil {
					errs <- fmt.Errorf("disable %v: %w", g, err)
				}
			}
		}()
	}
	stop := make(chan struct{})
	checked := make(chan int)
	go func() {
		n := 0
		defer func() { checked <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			set.Status()
			obj.mu.Lock()
			users, live := hits.users, hits.live.Load()
			obj.mu.Unlock()
			if live != (users > 0) {
				errs <- fmt.Errorf("hits: live %v with %d users", live, users)
			}
			n++
		}
	}()
	wg.Wait()
	close(stop)
	t.Logf("%d checks beside the enables and disables", <-checked)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Each feature's state agrees with its programs.
	for _, fs := range set.Status().Features {
		for _, ms := range fs.Members {
			for _, name := range ms.Programs {
				if ps := programStatus(t, set, name); !ps.Loaded || len(ps.Links) != 1 {
					t.Errorf("feature %s enabled with %s not running: %+v", fs.Name, name, ps)
				}
			}
		}
	}
	var links []uint32
	for _, name := range []string{"count_enter", "count_exit"} {
		links = append(links, runningLinks(t, set, name)...)
	}
	if err := set.Disable(set.Features()...); err != nil {
		t.Fatal(err)
	}
	for _, ps := range set.Status().Programs {
		if ps.Loaded || len(ps.Links) > 0 {
			t.Errorf("%s still running: %+v", ps.Name, ps)
		}
	}
	for _, id := range links {
		if !eventuallyGone(t, syscall.LinkGetFDByID, id) {
			t.Errorf("link %d outlived Disable", id)
		}
	}
	if hits.Live() || hits.Users() != 0 {
		t.Errorf("hits: live %v, %d users after everything was disabled", hits.Live(), hits.Users())
	}
}

// TestFeatureRollback: a feature whose second program fails verification
// is undone (its first program unloaded, the map only it uses destroyed
// even without ReleaseUnusedMaps), and the feature already running is
// left as it was.
func TestFeatureRollback(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj, set := newTestFeatureSet(t, nil)
	ctx := context.Background()
	if err := set.Enable(ctx, "exit"); err != nil {
		t.Fatal(err)
	}
	before := runningLinks(t, set, "count_exit")
	exitID := programStatus(t, set, "count_exit").ID
	hitsInfo, err := obj.Map("hits").Info()
	if err != nil {
		t.Fatal(err)
	}

	for _, names := range [][]string{{"broken"}, {"exit", "broken"}, {"enter", "broken"}} {
		err := set.Enable(ctx, names...)
		var verr *VerifierError
		if !errors.As(err, &verr) || verr.Program != "bad_count" {
			t.Fatalf("Enable(%v) = %v, want bad_count's verifier error", names, err)
		}
		t.Logf("Enable(%v): %v", names, err)
		if fs := featureStatus(t, set, "broken"); fs.Enabled || fs.LastError == nil {
			t.Errorf("broken after a failed enable: %+v", fs)
		}
		if set.Enabled("enter") {
			t.Error("enter stayed enabled though its call failed")
		}
		for _, name := range []string{"count_other", "bad_count", "count_enter"} {
			if ps := programStatus(t, set, name); ps.Loaded || len(ps.Links) > 0 {
				t.Errorf("%s left running by a failed enable: %+v", name, ps)
			}
		}
		if obj.Map("other_seen").Live() {
			t.Error("other_seen, created by the failed enable, is live")
		}
		if !set.Enabled("exit") {
			t.Fatal("exit was disabled by another feature's failure")
		}
		ps := programStatus(t, set, "count_exit")
		if after := runningLinks(t, set, "count_exit"); ps.ID != exitID || len(after) != 1 || after[0] != before[0] {
			t.Errorf("count_exit changed: program %d links %v, was %d %v", ps.ID, after, exitID, before)
		}
		if info, err := obj.Map("hits").Info(); err != nil || info.ID != hitsInfo.ID {
			t.Errorf("hits changed: %+v, %v", info, err)
		}
	}
}

// TestFeatureReloadResize reloads a running program without emptying its
// hook and resizes the map two features share; a resize that cannot
// work puts the old size back with the programs running.
func TestFeatureReloadResize(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj, set := newTestFeatureSet(t, &Options{ReleaseUnusedMaps: true})
	ctx := context.Background()
	if err := set.Enable(ctx, "enter", "exit"); err != nil {
		t.Fatal(err)
	}
	old := programStatus(t, set, "count_enter")
	if err := set.Reload("count_enter"); err != nil {
		t.Fatal(err)
	}
	now := programStatus(t, set, "count_enter")
	if !now.Loaded || now.ID == old.ID || len(runningLinks(t, set, "count_enter")) != 1 {
		t.Errorf("after reload %+v, before %+v", now, old)
	}
	if err := set.Reload("count_fexit"); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Reload of a program not running: %v", err)
	}

	hits := obj.Map("hits")
	oldInfo, err := hits.Info()
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Resize("hits", 64); err != nil {
		t.Fatal(err)
	}
	info, err := hits.Info()
	if err != nil || info.MaxEntries != 64 || info.ID == oldInfo.ID {
		t.Fatalf("hits after resize: %+v, %v (was %+v)", info, err, oldInfo)
	}
	for _, name := range []string{"count_enter", "count_exit"} {
		if len(runningLinks(t, set, name)) != 1 {
			t.Errorf("%s not attached after the resize", name)
		}
	}
	triggerSyscalls()
	if lookupU64(t, hits, 1) == 0 {
		t.Error("count_exit counts nothing into the resized map")
	}

	// An array of 0 entries cannot be created: the old size comes back.
	if err := set.Resize("hits", 0); err == nil {
		t.Fatal("resizing to 0 entries worked")
	} else {
		t.Logf("Resize(hits, 0): %v", err)
	}
	if info, err := hits.Info(); err != nil || info.MaxEntries != 64 {
		t.Errorf("hits after a failed resize: %+v, %v", info, err)
	}
	for _, name := range []string{"count_enter", "count_exit"} {
		if len(runningLinks(t, set, name)) != 1 {
			t.Errorf("%s not attached after a failed resize", name)
		}
	}
	if err := set.Resize("nosuchmap", 1); err == nil {
		t.Error("resizing a map the objects lack worked")
	}
}

// TestFeatureDefinitions: bad definitions and unknown names are refused
// before anything is loaded.
func TestFeatureDefinitions(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	for _, defs := range [][]Feature{
		{{Name: "x", Members: []Member{{"no_such_program"}}}},
		{{Name: "x", Members: []Member{{"count_enter", "nothing*"}}}},
		{{Name: "x", Members: []Member{{"["}}}},
		{{Name: "", Members: []Member{{"count_enter"}}}},
		{{Name: "x"}},
		{{Name: "x", Members: []Member{{}}}},
		{{Name: "x", Members: []Member{{"count_enter"}}}, {Name: "x", Members: []Member{{"count_exit"}}}},
	} {
		obj := mustOpen(t, testdata("features.o"), nil)
		if _, err := NewFeatureSet([]*Object{obj}, defs, nil); err == nil {
			t.Errorf("NewFeatureSet(%+v) worked", defs)
		}
	}
	_, set := newTestFeatureSet(t, nil)
	if err := set.Enable(context.Background(), "exit", "nosuch"); !errors.Is(err, ErrUnknownFeature) {
		t.Errorf("Enable of an unknown feature: %v", err)
	}
	if set.Enabled("exit") {
		t.Error("a call naming an unknown feature enabled another")
	}
	if err := set.Disable("nosuch"); !errors.Is(err, ErrUnknownFeature) {
		t.Errorf("Disable of an unknown feature: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := set.Enable(ctx, "exit"); !errors.Is(err, context.Canceled) || set.Enabled("exit") {
		t.Errorf("Enable with a cancelled context: %v", err)
	}
	defs := ProgramFeatures(set.Objects())
	if len(defs) != 5 || defs[0].Name != "count_fexit" {
		t.Errorf("ProgramFeatures: %+v", defs)
	}
	if err := set.Close(); err != nil {
		t.Fatal(err)
	}
	if err := set.Enable(context.Background(), "exit"); !errors.Is(err, ErrClosed) {
		t.Errorf("Enable after Close: %v", err)
	}
}
