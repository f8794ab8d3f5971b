package bpf

import (
	"bytes"
	"context"
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
	if n := len(obj.Programs()); n != 1 {
		t.Fatalf("%d programs, want only sub_sections", n)
	}
	must(t, obj.Load(context.Background()))
	if got := testRun(t, obj.Program("sub_sections")); got != 15 {
		t.Fatalf("sub_sections returned %d, want 15", got)
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
	prog := obj.Program("usdt_probe")
	info, err := syscall.ProgInfoByFD(prog.FD())
	must(t, err)
	fd, err := syscall.BTFGetFDByID(info.BTFID)
	must(t, err)
	data, err := syscall.BTFDataByFD(fd)
	closeFD(fd)
	must(t, err)
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(data))
	must(t, err)
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

func closeFD(fd int) { unix.Close(fd) }
