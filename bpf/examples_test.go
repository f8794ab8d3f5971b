package bpf

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"
)

// TestCiliumExamples loads the C examples cilium/ebpf ships, objects
// written the libbpf way (vmlinux-style headers, BPF_CORE_READ, BPF_PROG
// and BPF_KPROBE macros). Every program loads, except the trampolines this
// kernel refuses to every loader: for those, the attach_btf_id rawload
// resolved must be the kernel's function, and the refusal must say so.
func TestCiliumExamples(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	objects, err := filepath.Glob(ciliumTestdata(t, "examples/*/bpf_bpfel.o"))
	if err != nil || len(objects) < 10 {
		t.Fatalf("found %d example objects: %v", len(objects), err)
	}
	vmlinux, err := kernelSpec()
	must(t, err)
	loaded := 0
	for _, path := range objects {
		name := filepath.Base(filepath.Dir(path))
		obj := openDynamic(t, path, nil)
		for _, p := range obj.Programs() {
			err := p.Load()
			if err == nil {
				loaded++
				continue
			}
			if !isTrampoline(p.spec.Kind) {
				t.Errorf("%s/%s: %v", name, p.Name(), err)
				continue
			}
			var fn *btf.Func
			must(t, vmlinux.TypeByName(p.spec.Kind.AttachTo, &fn))
			id, err2 := vmlinux.TypeID(fn)
			must(t, err2)
			if p.AttachBTFID() != uint32(id) {
				t.Errorf("%s/%s: attach BTF id %d, kernel's %s is %d", name, p.Name(), p.AttachBTFID(), fn.Name, id)
			}
			if !errors.Is(err, unix.EPERM) || !strings.Contains(err.Error(), "refuses trampoline programs") {
				t.Errorf("%s/%s: %v, want the trampoline refusal explained", name, p.Name(), err)
			}
		}
		must(t, obj.Close())
	}
	if loaded < 10 {
		t.Errorf("only %d example programs loaded", loaded)
	}
	t.Logf("%d example programs loaded from %d objects", loaded, len(objects))
}
