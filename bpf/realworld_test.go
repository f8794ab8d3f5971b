package bpf

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/syscall"
)

// TestSubprogramSections: functions in sections naming no program type
// that programs call are subprograms, and the object loads as a whole.
func TestSubprogramSections(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("subsections.o"), nil)
	var names []string
	for _, p := range obj.Programs() {
		names = append(names, p.Name())
	}
	if want := []string{"sub_sections", "optional_prog"}; !slices.Equal(names, want) {
		t.Fatalf("programs %q, want %q", names, want)
	}
	must(t, obj.Load(context.Background()))
	if got := testRun(t, obj.Program("sub_sections")); got != 15 {
		t.Fatalf("sub_sections returned %d, want 15", got)
	}
}

// TestOptionalProgram: a section starting with '?' gives a program that
// Object.Load leaves alone unless its load type is changed.
func TestOptionalProgram(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	spec, err := ReadSpec(testdata("subsections.o"))
	must(t, err)
	if p := spec.Program("optional_prog"); p == nil || p.Autoload || p.Type.String() != "socket_filter" {
		t.Fatalf("optional_prog: %+v", p)
	}
	obj := mustOpen(t, testdata("subsections.o"), nil)
	opt := obj.Program("optional_prog")
	if opt.LoadType() != LoadDisabled {
		t.Fatalf("load type %v, want disabled", opt.LoadType())
	}
	must(t, obj.Load(context.Background()))
	if opt.FD() >= 0 {
		t.Fatal("Object.Load loaded an optional program")
	}
	again := mustOpen(t, testdata("subsections.o"), nil)
	must(t, again.Program("optional_prog").SetAutoload(true))
	must(t, again.Load(context.Background()))
	if got := testRun(t, again.Program("optional_prog")); got != 7 {
		t.Fatalf("optional_prog returned %d, want 7", got)
	}
}

// TestCiliumLoaderCollection loads cilium/ebpf's loader object, whose
// subprograms sit in sections "static" and "other", as one collection.
func TestCiliumLoaderCollection(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, ciliumTestdata(t, "testdata/loader-clang-17-el.elf"), nil)
	for _, p := range obj.Programs() {
		if p.Section() == "static" || p.Section() == "other" {
			t.Errorf("%s in section %s taken for a program", p.Name(), p.Section())
		}
	}
	must(t, obj.Load(context.Background()))
}

// TestHiddenGlobalIsStatic loads testdata/usdt.o, written like libbpf's
// usdt.bpf.h: its hidden global helpers write through a pointer argument
// without a NULL check, which only verification within the caller
// accepts. The kernel's copy of the program's BTF shows them static.
func TestHiddenGlobalIsStatic(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("usdt.o"), nil)
	must(t, obj.Load(context.Background()))
	spec := kernelProgramBTF(t, obj.Program("usdt_probe"))
	for _, name := range []string{"usdt_arg", "usdt_arg_cnt", "usdt_cookie"} {
		var fn *btf.Func
		must(t, spec.TypeByName(name, &fn))
		if fn.Linkage != btf.StaticFunc {
			t.Errorf("%s has linkage %v in the kernel, want static", name, fn.Linkage)
		}
	}
	var main *btf.Func
	must(t, spec.TypeByName("usdt_probe", &main))
	if main.Linkage != btf.GlobalFunc {
		t.Errorf("the program itself has linkage %v, want global", main.Linkage)
	}
}

// TestHiddenGlobalPassedThrough: hidden.o's BTF goes to the kernel as the
// compiler wrote it (no CO-RE, no externs), with its hidden subprogram
// marked static in place: the program verifies, returns 42, and the
// kernel's copy of its BTF says so.
func TestHiddenGlobalPassedThrough(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("hidden.o"), nil)
	must(t, obj.Load(context.Background()))
	prog := obj.Program("hidden_caller")
	if ret, err := prog.TestRun(make([]byte, 64)); err != nil || ret != 42 {
		t.Fatalf("hidden_caller returned %d, %v; want 42", ret, err)
	}
	spec := kernelProgramBTF(t, prog)
	for name, want := range map[string]btf.FuncLinkage{"add_one": btf.StaticFunc, "hidden_caller": btf.GlobalFunc} {
		var fn *btf.Func
		must(t, spec.TypeByName(name, &fn))
		if fn.Linkage != want {
			t.Errorf("%s has linkage %v in the kernel, want %v", name, fn.Linkage, want)
		}
	}
}

// kernelProgramBTF is the BTF the kernel holds for a loaded program, as
// the kernel gives it back.
func kernelProgramBTF(t *testing.T, p *Program) *btf.Spec {
	t.Helper()
	info, err := syscall.ProgInfoByFD(p.FD())
	must(t, err)
	fd, err := syscall.BTFGetFDByID(info.BTFID)
	must(t, err)
	data, err := syscall.BTFDataByFD(fd)
	closeFD(fd)
	must(t, err)
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(data))
	must(t, err)
	return spec
}

func closeFD(fd int) { unix.Close(fd) }
