package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/bpf"
)

// errCiliumSkipped stands for a program cilium/ebpf's NewCollection passes
// over without a word: one whose type it could not tell from the section
// name (UnspecifiedProgram). It is not loaded, and must not count as
// loaded just because NewCollection returned no error.
var errCiliumSkipped = errors.New("skipped by NewCollection: unspecified program type")

// peerResult is what one loader made of one object.
type peerResult struct {
	// err is a failure of the whole object, before any program.
	err error
	// programs maps every program name to nil if it loaded, or why not.
	programs map[string]error
}

func (r peerResult) loaded() []string {
	var names []string
	for name, err := range r.programs {
		if err == nil {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// why is the reason name did not load, for a message.
func (r peerResult) why(name string) error {
	if r.err != nil {
		return r.err
	}
	err, ok := r.programs[name]
	if !ok {
		return errors.New("no such program")
	}
	return err
}

// parityRow is one line of the logged table.
type parityRow struct {
	object string
	// programs counts the programs either loader found in the object.
	programs        int
	cilium, rawload int
	// onlyRawload are the programs rawload loads and cilium/ebpf does not.
	onlyRawload []string
}

// TestPeerParity loads every little-endian test object of cilium/ebpf with
// both loaders and fails where rawload loads fewer programs of an object
// than cilium/ebpf.
func TestPeerParity(t *testing.T) {
	requireKernel(t)
	dir, objects := ciliumObjects(t, "testdata/*-el.elf", "btf/testdata/*-el.elf")
	testParity(t, dir, objects)
}

// TestPeerParityExamples is TestPeerParity over cilium/ebpf's examples,
// objects compiled against a real vmlinux.h as applications are.
func TestPeerParityExamples(t *testing.T) {
	requireKernel(t)
	dir, objects := ciliumObjects(t, "examples/*/bpf_bpfel.o")
	testParity(t, dir, objects)
}

func testParity(t *testing.T, dir string, objects []string) {
	var rows []parityRow
	for _, object := range objects {
		t.Run(object, func(t *testing.T) {
			path := filepath.Join(dir, object)
			cilium := ciliumPass(path, pinDir(t))
			rawload := rawloadLoads(t, path, pinDir(t))
			rows = append(rows, compareParity(t, object, cilium, rawload))
		})
	}
	logParity(t, rows)
}

// compareParity fails t for every program cilium/ebpf loads and rawload
// does not, and logs the reverse, and why neither loads the rest.
func compareParity(t *testing.T, object string, cilium, rawload peerResult) parityRow {
	t.Helper()
	if cilium.err != nil {
		t.Logf("cilium/ebpf: %s", brief(cilium.err, 300))
	}
	if rawload.err != nil {
		t.Logf("rawload: %s", brief(rawload.err, 300))
	}
	row := parityRow{object: object, cilium: len(cilium.loaded()), rawload: len(rawload.loaded())}
	union := maps.Clone(cilium.programs)
	maps.Insert(union, maps.All(rawload.programs))
	names := slices.Sorted(maps.Keys(union))
	for _, name := range names {
		ciliumErr, rawloadErr := cilium.why(name), rawload.why(name)
		switch {
		case ciliumErr == nil && rawloadErr != nil:
			t.Errorf("%s: cilium/ebpf loads %s, rawload does not: %s", object, name, brief(rawloadErr, 1500))
		case ciliumErr != nil && rawloadErr == nil:
			row.onlyRawload = append(row.onlyRawload, name)
			t.Logf("%s: rawload loads %s, cilium/ebpf does not: %s", object, name, brief(ciliumErr, 300))
		case ciliumErr != nil && rawloadErr != nil:
			t.Logf("%s: neither loads %s\n\tcilium/ebpf: %s\n\trawload: %s",
				object, name, brief(ciliumErr, 300), brief(rawloadErr, 300))
		}
	}
	row.programs = len(names)
	return row
}

func logParity(t *testing.T, rows []parityRow) {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "object\tprograms\tcilium\trawload\t\tonly rawload\t")
	var programs, cilium, rawload int
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t\t%s\t\n", r.object, r.programs, r.cilium, r.rawload, strings.Join(r.onlyRawload, " "))
		programs += r.programs
		cilium += r.cilium
		rawload += r.rawload
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t%d\t\t\t\n", programs, cilium, rawload)
	tw.Flush()
	t.Logf("programs loaded, each on its own:\n%s", b.String())
}

// ciliumPass loads each program of the object on its own with
// cilium/ebpf, so that one failure does not hide the others.
func ciliumPass(path, pin string) peerResult {
	res := peerResult{programs: make(map[string]error)}
	spec, err := ebpf.LoadCollectionSpec(path)
	if err != nil {
		res.err = err
		return res
	}
	for name := range spec.Programs {
		res.programs[name] = ciliumLoadOne(spec, name, pin)
	}
	return res
}

// ciliumLoadOne loads a copy of spec that holds only the program name
// (and every map, as NewCollection creates them all).
func ciliumLoadOne(spec *ebpf.CollectionSpec, name, pin string) error {
	one := spec.Copy()
	one.Programs = map[string]*ebpf.ProgramSpec{name: one.Programs[name]}
	// A program array initialised with the other programs would make
	// NewCollection fail with "missing program" before it tried this
	// one. Keep only the entries naming this program, as rawload fills
	// only the slots of programs that are loaded.
	for _, m := range one.Maps {
		if m.Type != ebpf.ProgramArray {
			continue
		}
		m.Contents = slices.DeleteFunc(m.Contents, func(kv ebpf.MapKV) bool {
			target, ok := kv.Value.(string)
			return ok && target != name
		})
	}
	coll, err := ebpf.NewCollectionWithOptions(one, ebpf.CollectionOptions{Maps: ebpf.MapOptions{PinPath: pin}})
	if err != nil {
		return err
	}
	defer coll.Close()
	if coll.Programs[name] == nil {
		return errCiliumSkipped
	}
	return nil
}

// rawloadLoads loads each program of the object on its own with rawload,
// twice, and checks that neither pass leaves an fd open: rawload keeps no
// fd beyond its Objects, not even kernel module BTF.
func rawloadLoads(t *testing.T, path, pin string) peerResult {
	t.Helper()
	// cilium/ebpf closes what it no longer references in finalizers;
	// let them run now rather than in the middle of a count.
	runtime.GC()
	runtime.GC()
	before := openFDs(t)
	first := rawloadPass(t, path, pin)
	for fd, target := range newFDs(before, openFDs(t)) {
		t.Errorf("rawload left fd %d (%s) open", fd, target)
	}
	before = openFDs(t)
	second := rawloadPass(t, path, pin)
	for fd, target := range newFDs(before, openFDs(t)) {
		t.Errorf("rawload left fd %d (%s) open on a second pass", fd, target)
	}
	if a, b := first.loaded(), second.loaded(); !slices.Equal(a, b) {
		t.Errorf("rawload loaded %q, then %q", a, b)
	}
	return first
}

func newFDs(before, after map[int]string) map[int]string {
	added := maps.Clone(after)
	for fd, target := range before {
		if added[fd] == target {
			delete(added, fd)
		}
	}
	return added
}

// rawloadPass opens the object, makes every program Dynamic so that
// Object.Load loads nothing, then loads and unloads the programs one by
// one.
func rawloadPass(t *testing.T, path, pin string) peerResult {
	t.Helper()
	res := peerResult{programs: make(map[string]error)}
	obj, err := bpf.Open(path, &bpf.Options{PinPath: pin})
	if err != nil {
		res.err = err
		return res
	}
	defer func() {
		if err := obj.Close(); err != nil {
			t.Errorf("rawload: closing %s: %v", path, err)
		}
	}()
	for _, p := range obj.Programs() {
		if err := p.SetLoadType(bpf.LoadDynamic); err != nil {
			res.err = err
			return res
		}
	}
	if err := obj.Load(context.Background()); err != nil {
		res.err = err
		return res
	}
	for _, p := range obj.Programs() {
		err := p.Load()
		if _, dup := res.programs[p.Name()]; dup {
			t.Errorf("rawload: %s has two programs called %s", path, p.Name())
		}
		res.programs[p.Name()] = err
		if err != nil {
			continue
		}
		if err := p.Unload(); err != nil {
			t.Errorf("rawload: unloading %s: %v", p.Name(), err)
		}
	}
	return res
}

// pinDir is an empty bpffs directory, removed with its pins when t ends,
// for the maps an object pins by name: without one cilium/ebpf refuses
// such an object outright (loader-*-el.elf, examples/kprobepin), which
// would leave nothing to compare. Each loader gets its own, so neither
// reuses a map the other created. "" if there is no bpffs at
// /sys/fs/bpf: each loader then does what it does without a pin path.
func pinDir(t *testing.T) string {
	t.Helper()
	const bpffs = "/sys/fs/bpf"
	var st unix.Statfs_t
	if err := unix.Statfs(bpffs, &st); err != nil || st.Type != unix.BPF_FS_MAGIC {
		t.Logf("no bpffs at %s: loading without a pin path", bpffs)
		return ""
	}
	dir, err := os.MkdirTemp(bpffs, "rawload-bench-")
	if err != nil {
		t.Fatalf("pin directory: %v", err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing pin directory: %v", err)
		}
	})
	return dir
}

// brief cuts an error, verifier logs included, to at most limit bytes,
// keeping the start and the end, where the verifier states its verdict.
func brief(err error, limit int) string {
	s := err.Error()
	if len(s) <= limit {
		return s
	}
	half := limit / 2
	return s[:half] + "\n[...]\n" + s[len(s)-half:]
}
