package bpf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/syscall"
)

// requireKernelBTF skips a test that reads the running kernel's BTF on a
// kernel without it, unless RAWLOAD_REQUIRE_KERNEL=1.
func requireKernelBTF(t testing.TB) *btf.Spec {
	t.Helper()
	spec, err := kernelSpec()
	if err == nil {
		return spec
	}
	if os.Getenv("RAWLOAD_REQUIRE_KERNEL") == "1" {
		t.Fatalf("kernel BTF unusable and RAWLOAD_REQUIRE_KERNEL=1: %v", err)
	}
	if _, statErr := os.Stat("/sys/kernel/btf/vmlinux"); errors.Is(statErr, os.ErrNotExist) {
		t.Skipf("kernel without BTF (no /sys/kernel/btf/vmlinux): %v", err)
	}
	t.Fatal(err)
	return nil
}

func TestKernelSpecShared(t *testing.T) {
	first := requireKernelBTF(t)
	second, err := kernelSpec()
	if err != nil {
		t.Fatal(err)
	}
	if first != second {
		t.Fatal("kernelSpec parsed vmlinux twice")
	}
	var ts *btf.Struct
	if err := first.TypeByName("task_struct", &ts); err != nil {
		t.Fatal(err)
	}
	if ts.Size == 0 || len(ts.Members) == 0 {
		t.Fatalf("task_struct is empty: %v", ts)
	}
}

func TestFindKernelType(t *testing.T) {
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
			kt, err := findKernelType(spec, tc.name, tc.kind)
			if err != nil {
				t.Fatal(err)
			}
			if kt.Module != "" || kt.BTFFD != 0 {
				t.Errorf("found in module %q (fd %d), want vmlinux", kt.Module, kt.BTFFD)
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

func TestFindKernelTypeMissing(t *testing.T) {
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
		_, err := findKernelType(spec, tc.name, tc.kind)
		if !errors.Is(err, errKernelTypeNotFound) {
			t.Errorf("%s: got %v, want errKernelTypeNotFound", tc.want, err)
		} else if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %q does not name %q", err, tc.want)
		}
	}
}

// A caller's own base replaces vmlinux, and then module BTF, split on the
// real vmlinux, is not searched.
func TestFindKernelTypeOverride(t *testing.T) {
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

	kt, err := findKernelType(override, "rawload_override", (*btf.Func)(nil))
	if err != nil {
		t.Fatal(err)
	}
	if kt.Type.TypeName() != "rawload_override" || kt.Module != "" {
		t.Errorf("found %v in %q", kt.Type, kt.Module)
	}
	if _, err := findKernelType(override, "do_unlinkat", (*btf.Func)(nil)); !errors.Is(err, errKernelTypeNotFound) {
		t.Errorf("do_unlinkat found in an override without it: %v", err)
	}
}

// The module search runs on cilium/ebpf's split BTF of bpf_testmod, laid
// out like /sys/kernel/btf: this machine has no module BTF.
func TestKernelModuleSearch(t *testing.T) {
	base, err := btf.LoadSpec(ciliumTestdata(t, "btf/testdata/btf_testmod.btf.base"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, target := range map[string]string{
		"vmlinux":     ciliumTestdata(t, "btf/testdata/btf_testmod.btf.base"),
		"bpf_testmod": ciliumTestdata(t, "btf/testdata/btf_testmod.btf"),
	} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	var opened []string
	m := &moduleBTF{dir: dir, openFD: func(module string) (int, error) {
		opened = append(opened, module)
		return 1000 + len(opened), nil
	}}

	split, err := btf.LoadSplitSpec(filepath.Join(dir, "bpf_testmod"), base)
	if err != nil {
		t.Fatal(err)
	}
	var want *btf.Func
	if err := split.TypeByName("bpf_testmod_init", &want); err != nil {
		t.Fatal(err)
	}
	wantID, err := split.TypeID(want)
	if err != nil {
		t.Fatal(err)
	}

	for range 2 {
		kt, err := m.find(base, "bpf_testmod_init", (*btf.Func)(nil))
		if err != nil {
			t.Fatal(err)
		}
		if kt.Type == nil || kt.Type.TypeName() != "bpf_testmod_init" {
			t.Fatalf("found %v", kt.Type)
		}
		if kt.Module != "bpf_testmod" || kt.BTFFD != 1001 || kt.ID != wantID {
			t.Errorf("found in %q, fd %d, id %d; want bpf_testmod, 1001, %d", kt.Module, kt.BTFFD, kt.ID, wantID)
		}
		// Split ids continue after the base's, as the kernel numbers them.
		if _, err := base.TypeByID(kt.ID); err == nil {
			t.Errorf("id %d lies within the base", kt.ID)
		}
	}
	if len(opened) != 1 {
		t.Errorf("module BTF opened %d times: %v", len(opened), opened)
	}
	if len(m.specs) != 1 {
		t.Errorf("parsed %d module specs, want 1 (vmlinux is not a module)", len(m.specs))
	}

	// Types of the base are not the module's.
	kt, err := m.find(base, "int", nil)
	if err != nil || kt.Type != nil {
		t.Errorf("int found in module BTF: %v, %v", kt, err)
	}

	// A module whose BTF does not parse is an error naming it, once the
	// search reaches it.
	if err := os.WriteFile(filepath.Join(dir, "zz_broken"), []byte("not BTF"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := m.find(base, "bpf_testmod_init", (*btf.Func)(nil)); err != nil {
		t.Errorf("found before the broken module: %v", err)
	}
	if _, err := m.find(base, "rawload_missing", nil); err == nil || !strings.Contains(err.Error(), "zz_broken") {
		t.Errorf("broken module BTF: got %v", err)
	}
}

// The walk over BTF ids finds kernel BTF by name; vmlinux stands in for a
// module here.
func TestKernelModuleBTFFD(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)

	fd, err := kernelModuleBTFFD("vmlinux")
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	info, err := syscall.BTFInfoByFD(fd)
	if err != nil {
		t.Fatal(err)
	}
	if !info.KernelBTF || info.Name != "vmlinux" {
		t.Errorf("fd %d is BTF %q (kernel %v)", fd, info.Name, info.KernelBTF)
	}

	if fd, err := kernelModuleBTFFD("rawload_no_such_module"); err == nil {
		unix.Close(fd)
		t.Error("found BTF of a module that does not exist")
	}
}

// BenchmarkKernelSpec compares a fresh parse of vmlinux BTF, what every
// Object would pay without the process-wide cache, with the cached spec.
func BenchmarkKernelSpec(b *testing.B) {
	requireKernelBTF(b)
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := loadKernelSpec(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := kernelSpec(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The process-wide caches are filled and read from many goroutines at
// once, as parallel Opens and loads do; run with -race.
func TestKernelCachesConcurrent(t *testing.T) {
	requireKernelBTF(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := findKernelType(nil, "do_unlinkat", (*btf.Func)(nil)); err != nil {
				t.Error(err)
			}
			if _, err := findKernelType(nil, "rawload_missing", nil); !errors.Is(err, errKernelTypeNotFound) {
				t.Error(err)
			}
			if _, _, err := kconfigValue("LINUX_KERNEL_VERSION", kcInt, 4); err != nil {
				t.Error(err)
			}
			if _, _, err := kallsymsAddress("rawload_missing"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}
