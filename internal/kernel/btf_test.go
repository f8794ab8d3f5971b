package kernel

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/testutil"
)

func TestVmlinuxShared(t *testing.T) {
	first := requireKernelBTF(t)
	second, err := System().Vmlinux()
	if err != nil {
		t.Fatal(err)
	}
	if first != second {
		t.Fatal("System parsed vmlinux twice")
	}
	var ts *btf.Struct
	if err := first.TypeByName("task_struct", &ts); err != nil {
		t.Fatal(err)
	}
	if ts.Size == 0 || len(ts.Members) == 0 {
		t.Fatalf("task_struct is empty: %v", ts)
	}
}

// A BTF directory that is empty at first and filled later: the first
// call fails naming the file, the next one, in the same process, parses
// it. A kernel does not grow BTF, but a stand-in directory, a container's
// bind mount or a fd shortage passing is the same to the cache.
func TestVmlinuxMissingNotCached(t *testing.T) {
	dir := t.TempDir()
	env := New(Paths{BTFDir: dir})

	_, err := env.Vmlinux()
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("empty BTF dir: got %v, want fs.ErrNotExist", err)
	}
	if want := filepath.Join(dir, "vmlinux"); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %s", err, want)
	}

	writeFile(t, filepath.Join(dir, "vmlinux"), fakeBase(t))
	spec, err := env.Vmlinux()
	if err != nil {
		t.Fatalf("after vmlinux appeared: %v", err)
	}
	if _, err := spec.AnyTypeByName("int"); err != nil {
		t.Errorf("stand-in vmlinux: %v", err)
	}
	if again, _ := env.Vmlinux(); again != spec {
		t.Error("a success was not kept")
	}
}

func TestVmlinuxEMFILENotCached(t *testing.T) {
	testutil.CheckNoLeak(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "vmlinux"), fakeBase(t))
	env := New(Paths{BTFDir: dir})

	restore := testutil.ExhaustFDs(t)
	_, err := env.Vmlinux()
	restore()
	if !errors.Is(err, unix.EMFILE) {
		t.Fatalf("without a free fd: got %v, want EMFILE", err)
	}
	if _, err := env.Vmlinux(); err != nil {
		t.Fatalf("with fds again: %v", err)
	}
}

func TestFindType(t *testing.T) {
	spec := requireKernelBTF(t)
	for _, tc := range []struct {
		name string
		kind btf.Type
	}{
		{"do_unlinkat", (*btf.Func)(nil)},
		{"btf_trace_sched_switch", (*btf.Typedef)(nil)},
		{"task_struct", (*btf.Struct)(nil)},
		// A per-cpu variable: only those are in vmlinux BTF.
		{"bpf_prog_active", (*btf.Var)(nil)},
		{"task_struct", nil},
	} {
		t.Run(kindName(tc.kind)+"/"+tc.name, func(t *testing.T) {
			if _, isVar := tc.kind.(*btf.Var); isVar && !hasType(spec, tc.name) {
				// pahole before 1.18 left per-cpu variables out.
				t.Skipf("%s is not in this kernel's BTF", tc.name)
			}
			fds := NewModuleFDs()
			defer fds.Close()
			kt, err := System().FindType(spec, tc.name, tc.kind, fds)
			if err != nil {
				t.Fatal(err)
			}
			if kt.Module != "" || kt.BTFFD != 0 || fds.Len() != 0 {
				t.Errorf("found in module %q (fd %d, %d held), want vmlinux", kt.Module, kt.BTFFD, fds.Len())
			}
			if kt.Type.TypeName() != tc.name {
				t.Errorf("found %v", kt.Type)
			}
			if tc.kind != nil && kindName(kt.Type) != kindName(tc.kind) {
				t.Errorf("found a %s, want a %s", kindName(kt.Type), kindName(tc.kind))
			}
			byID, err := spec.TypeByID(kt.ID)
			if err != nil {
				t.Fatal(err)
			}
			if byID != kt.Type {
				t.Errorf("id %d is %v, not %v", kt.ID, byID, kt.Type)
			}
		})
	}
}

func hasType(spec *btf.Spec, name string) bool {
	_, err := spec.AnyTypesByName(name)
	return err == nil
}

func TestFindTypeMissing(t *testing.T) {
	spec := requireKernelBTF(t)
	for _, tc := range []struct {
		name string
		kind btf.Type
		want string
	}{
		{"rawload_no_such_function", (*btf.Func)(nil), "func rawload_no_such_function"},
		// It exists, but as a struct.
		{"task_struct", (*btf.Func)(nil), "func task_struct"},
		{"do_unlinkat", (*btf.Var)(nil), "var do_unlinkat"},
	} {
		_, err := System().FindType(spec, tc.name, tc.kind, nil)
		if !errors.Is(err, ErrTypeNotFound) {
			t.Errorf("%s: got %v, want ErrTypeNotFound", tc.want, err)
		} else if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %q does not name %q", err, tc.want)
		}
	}
}

// A caller's own base replaces vmlinux, and then module BTF, split on the
// real vmlinux, is not searched.
func TestFindTypeOverride(t *testing.T) {
	requireKernelBTF(t)
	fn := &btf.Func{Name: "rawload_override", Type: &btf.FuncProto{Return: (*btf.Void)(nil)}}
	b, err := btf.NewBuilder([]btf.Type{fn}, nil)
	if err != nil {
		t.Fatal(err)
	}
	override, err := b.Spec()
	if err != nil {
		t.Fatal(err)
	}

	kt, err := System().FindType(override, "rawload_override", (*btf.Func)(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if kt.Type.TypeName() != "rawload_override" || kt.Module != "" {
		t.Errorf("found %v in %q", kt.Type, kt.Module)
	}
	if _, err := System().FindType(override, "do_unlinkat", (*btf.Func)(nil), nil); !errors.Is(err, ErrTypeNotFound) {
		t.Errorf("do_unlinkat found in an override without it: %v", err)
	}
}

// An override never makes an Env parse its vmlinux: an Env whose BTF
// directory is empty still searches a caller's base.
func TestFindTypeOverrideWithoutVmlinux(t *testing.T) {
	env := New(Paths{BTFDir: t.TempDir()})
	override, err := btf.LoadSpecFromReader(strings.NewReader(string(fakeBase(t))))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.FindType(override, "int", (*btf.Int)(nil), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := env.FindType(nil, "int", nil, nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("own vmlinux missing: got %v", err)
	}
}

// BenchmarkVmlinux compares a fresh parse of vmlinux BTF, what every
// Object would pay without a shared Env, with the cached spec.
func BenchmarkVmlinux(b *testing.B) {
	requireKernelBTF(b)
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := New(Paths{}).Vmlinux(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := System().Vmlinux(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The caches are filled and read from many goroutines at once, as
// parallel Opens and loads do; run with -race. A fresh Env makes the
// goroutines race to fill them, not just to read them.
func TestCachesConcurrent(t *testing.T) {
	requireKernelBTF(t)
	kcInt := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
	env := New(Paths{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := env.FindType(nil, "do_unlinkat", (*btf.Func)(nil), nil); err != nil {
				t.Error(err)
			}
			if _, err := env.FindType(nil, "rawload_missing", nil, nil); !errors.Is(err, ErrTypeNotFound) {
				t.Error(err)
			}
			if _, _, err := env.KconfigValue("LINUX_KERNEL_VERSION", kcInt, 4); err != nil {
				t.Error(err)
			}
			if _, _, err := env.KallsymsAddress("rawload_missing"); err != nil {
				t.Error(err)
			}
			if _, err := env.PossibleCPUs(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// The same kfunc or ksym named by many programs costs one pass over
// undecoded vmlinux: FindTypeID keeps what it found, so fifty lookups of
// two names stay within the budget that would otherwise have vmlinux
// parsed whole (and a process's peak memory grow by its decoded types).
func TestFindTypeIDRepeatedNamesStayRaw(t *testing.T) {
	if _, err := os.Stat(filepath.Join(DefaultBTFDir, "vmlinux")); err != nil {
		t.Skip("no vmlinux BTF:", err)
	}
	env := New(Paths{})
	want := map[string]btf.Type{"task_struct": (*btf.Struct)(nil), "bpf_prog_load": (*btf.Func)(nil)}
	ids := map[string]btf.TypeID{}
	for range 25 {
		for name, kind := range want {
			typ, err := env.FindTypeID(name, kind, nil)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if prev, ok := ids[name]; ok && prev != typ.ID {
				t.Fatalf("%s: id %d, then %d", name, prev, typ.ID)
			}
			ids[name] = typ.ID
		}
	}
	if _, parsed := env.vmlinux.peek(); parsed {
		t.Errorf("vmlinux parsed whole after 50 lookups of 2 names (%d raw passes counted)", env.rawLookups.Load())
	}
	spec, err := env.Vmlinux()
	if err != nil {
		t.Fatal(err)
	}
	for name, kind := range want {
		if _, id, err := lookupType(spec, name, kind); err != nil || id != ids[name] {
			t.Errorf("%s: parsed vmlinux says id %d (%v), raw lookup said %d", name, id, err, ids[name])
		}
	}
}
