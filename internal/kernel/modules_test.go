package kernel

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/testutil"
	"github.com/rawload/rawload/syscall"
)

// The module search runs on cilium/ebpf's split BTF of bpf_testmod, laid
// out like /sys/kernel/btf: this machine has no module BTF.
func TestModuleSearch(t *testing.T) {
	testutil.CheckNoLeak(t)
	dir := t.TempDir()
	for name, target := range map[string]string{
		"vmlinux":     ciliumTestdata(t, "btf/testdata/btf_testmod.btf.base"),
		"bpf_testmod": ciliumTestdata(t, "btf/testdata/btf_testmod.btf"),
	} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	env := New(Paths{BTFDir: dir})
	base, err := env.Vmlinux()
	if err != nil {
		t.Fatal(err)
	}
	fds, opened := fakeFDs(t)

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

	var firstFD int
	for i := range 2 {
		kt, err := env.FindType(nil, "bpf_testmod_init", (*btf.Func)(nil), fds)
		if err != nil {
			t.Fatal(err)
		}
		if kt.Type == nil || kt.Type.TypeName() != "bpf_testmod_init" {
			t.Fatalf("found %v", kt.Type)
		}
		if i == 0 {
			firstFD = kt.BTFFD
		}
		if kt.Module != "bpf_testmod" || kt.BTFFD <= 0 || kt.BTFFD != firstFD || kt.ID != wantID {
			t.Errorf("found in %q, fd %d, id %d; want bpf_testmod, fd %d, id %d", kt.Module, kt.BTFFD, kt.ID, firstFD, wantID)
		}
		// Split ids continue after the base's, as the kernel numbers them.
		if _, err := base.TypeByID(kt.ID); err == nil {
			t.Errorf("id %d lies within the base", kt.ID)
		}
	}
	if len(*opened) != 1 || fds.Len() != 1 {
		t.Errorf("module BTF opened %d times (%v), %d held", len(*opened), *opened, fds.Len())
	}
	if len(env.modules.specs) != 1 {
		t.Errorf("parsed %d module specs, want 1 (vmlinux is not a module)", len(env.modules.specs))
	}

	// Types of the base are found in the base, not the module.
	kt, err := env.FindType(nil, "int", nil, fds)
	if err != nil || kt.Module != "" {
		t.Errorf("int: %+v, %v", kt, err)
	}

	// A module whose BTF does not parse is an error naming it, once the
	// search reaches it.
	writeFile(t, filepath.Join(dir, "zz_broken"), []byte("not BTF"))
	if _, err := env.FindType(nil, "bpf_testmod_init", (*btf.Func)(nil), fds); err != nil {
		t.Errorf("found before the broken module: %v", err)
	}
	if _, err := env.FindType(nil, "rawload_missing", nil, fds); err == nil || !strings.Contains(err.Error(), "zz_broken") {
		t.Errorf("broken module BTF: got %v", err)
	}

	// Without a set to hold its fd, a module type cannot be handed out.
	if _, err := env.FindType(nil, "bpf_testmod_init", (*btf.Func)(nil), nil); err == nil {
		t.Error("module type found with no fd set")
	}
}

// A module unloaded and loaded again has a new file in /sys/kernel/btf,
// and possibly other BTF: its spec is parsed again, while an unchanged
// module's is reused and a vanished one's forgotten.
func TestModuleChangedReparsed(t *testing.T) {
	testutil.CheckNoLeak(t)
	dir := t.TempDir()
	base := fakeBase(t)
	writeFile(t, filepath.Join(dir, "vmlinux"), base)
	module := filepath.Join(dir, "testmod")
	writeFile(t, module, fakeModule(t, base, "rawload_fn_a"))

	env := New(Paths{BTFDir: dir})
	fds, _ := fakeFDs(t)
	find := func(name string) (Type, error) {
		t.Helper()
		return env.FindType(nil, name, (*btf.Func)(nil), fds)
	}

	kt, err := find("rawload_fn_a")
	if err != nil {
		t.Fatal(err)
	}
	if kt.Module != "testmod" || kt.ID != 3 || kt.BTFFD <= 0 {
		t.Fatalf("found %+v, want id 3 in testmod with an fd", kt)
	}
	first := env.modules.specs["testmod"].spec
	if _, err := find("rawload_fn_a"); err != nil {
		t.Fatal(err)
	}
	if env.modules.specs["testmod"].spec != first {
		t.Error("an unchanged module was parsed again")
	}

	// Replaced, as sysfs does: a new file under the same name.
	next := filepath.Join(dir, ".next")
	writeFile(t, next, fakeModule(t, base, "rawload_fn_b"))
	if err := os.Rename(next, module); err != nil {
		t.Fatal(err)
	}
	if _, err := find("rawload_fn_b"); err != nil {
		t.Errorf("after the module changed: %v", err)
	}
	if _, err := find("rawload_fn_a"); !errors.Is(err, ErrTypeNotFound) {
		t.Errorf("the old module's type is still found: %v", err)
	}

	// Rewritten in place: the same inode, another size.
	writeFile(t, module, fakeModule(t, base, "rawload_fn_longer_c"))
	if _, err := find("rawload_fn_longer_c"); err != nil {
		t.Errorf("after the module was rewritten: %v", err)
	}

	if err := os.Remove(module); err != nil {
		t.Fatal(err)
	}
	if _, err := find("rawload_fn_longer_c"); !errors.Is(err, ErrTypeNotFound) {
		t.Errorf("an unloaded module's type is still found: %v", err)
	}
	if len(env.modules.specs) != 0 {
		t.Errorf("%d module specs kept after every module went", len(env.modules.specs))
	}
}

// A failure to read a module is not kept either.
func TestModuleEMFILENotCached(t *testing.T) {
	testutil.CheckNoLeak(t)
	dir := t.TempDir()
	base := fakeBase(t)
	writeFile(t, filepath.Join(dir, "vmlinux"), base)
	writeFile(t, filepath.Join(dir, "testmod"), fakeModule(t, base, "rawload_fn_a"))
	env := New(Paths{BTFDir: dir})
	if _, err := env.Vmlinux(); err != nil {
		t.Fatal(err)
	}
	fds, _ := fakeFDs(t)

	restore := testutil.ExhaustFDs(t)
	_, err := env.FindType(nil, "rawload_fn_a", (*btf.Func)(nil), fds)
	restore()
	if !errors.Is(err, unix.EMFILE) {
		t.Fatalf("without a free fd: got %v, want EMFILE", err)
	}
	if _, err := env.FindType(nil, "rawload_fn_a", (*btf.Func)(nil), fds); err != nil {
		t.Fatalf("with fds again: %v", err)
	}
}

func TestModuleFDsClose(t *testing.T) {
	testutil.CheckNoLeak(t)
	fds, opened := fakeFDs(t)
	a, err := fds.FD("a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := fds.FD("b")
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := fds.FD("a"); again != a || a == b {
		t.Errorf("fds %d, %d, %d", a, b, again)
	}
	if !slices.Equal(*opened, []string{"a", "b"}) {
		t.Errorf("opened %v", *opened)
	}
	if err := fds.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.FcntlInt(uintptr(a), unix.F_GETFD, 0); !errors.Is(err, unix.EBADF) {
		t.Errorf("fd %d still open after Close: %v", a, err)
	}
	if _, err := fds.FD("c"); !errors.Is(err, ErrClosed) {
		t.Errorf("FD after Close: %v", err)
	}
	if err := fds.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// The walk over BTF ids finds kernel BTF by name; vmlinux stands in for a
// module here.
func TestOpenModuleBTF(t *testing.T) {
	testutil.KernelTest(t)

	fds := NewModuleFDs()
	fd, err := fds.FD("vmlinux")
	if err != nil {
		t.Fatal(err)
	}
	info, err := syscall.BTFInfoByFD(fd)
	if err != nil {
		t.Fatal(err)
	}
	if !info.KernelBTF || info.Name != "vmlinux" {
		t.Errorf("fd %d is BTF %q (kernel %v)", fd, info.Name, info.KernelBTF)
	}
	if err := fds.Close(); err != nil {
		t.Fatal(err)
	}

	if fd, err := openModuleBTF("rawload_no_such_module"); err == nil {
		unix.Close(fd)
		t.Error("found BTF of a module that does not exist")
	}
}
