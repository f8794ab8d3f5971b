package bpf

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// cilium/ebpf's CO-RE test objects (btf/testdata) are socket filters that
// check their own relocated values and return 0, or the source line of
// the first check that failed. cilium runs them with a 14-byte empty
// context; rawload's TestRun passes a packet, 64 zero bytes here.

// runPeerCORE loads every program of a cilium CO-RE object relocated
// against target (nil: the running kernel), one by one, and runs each.
// Programs named err_* must be refused, at Open or by the kernel.
func runPeerCORE(t *testing.T, file string, target *btf.Spec) {
	t.Helper()
	checkNoLeak(t)
	obj := mustOpen(t, ciliumTestdata(t, "btf/testdata/"+file), &Options{KernelBTF: target})
	if len(obj.Programs()) == 0 {
		t.Fatalf("%s has no programs", file)
	}
	for _, p := range obj.Programs() {
		must(t, p.SetLoadType(LoadDynamic))
	}
	must(t, obj.Load(context.Background()))
	for _, p := range obj.Programs() {
		t.Run(p.Name(), func(t *testing.T) {
			if strings.HasPrefix(p.Name(), "err_") {
				// Refused at Open (p.Err) or by the kernel, never loaded.
				if err := p.Load(); err == nil {
					p.Unload()
					t.Fatal("loaded, want a CO-RE failure")
				} else {
					t.Logf("refused: %v", err)
				}
				return
			}
			if err := p.Err(); err != nil {
				t.Fatal(err)
			}
			must(t, p.Load())
			defer p.Unload()
			if line := testRun(t, p); line != 0 {
				if reason, ok := ciliumOnlyAssertion(t, file, line); ok {
					t.Logf("line %d asserts what only cilium/ebpf's design gives: %s", line, reason)
					return
				}
				t.Errorf("assertion failed on line %d of the C source", line)
			}
		})
	}
}

// ciliumOnlyAssertion recognises the checks of relocs.c that hold only
// for a loader that re-encodes the object's BTF, as cilium/ebpf does:
// target_and_local_id_dont_match expects a local type id
// (bpf_core_type_id_local) to differ from the target's, where the target
// is the object's own BTF. rawload, like libbpf, gives the kernel the
// object's BTF as it is, so the local id of a type is its id in that BTF,
// which is the target's here.
func ciliumOnlyAssertion(t *testing.T, file string, line uint32) (string, bool) {
	if file != "relocs-el.elf" {
		return "", false
	}
	src, err := os.ReadFile(ciliumTestdata(t, "btf/testdata/relocs.c"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	if line == 0 || int(line) > len(lines) {
		return "", false
	}
	text := strings.TrimSpace(lines[line-1])
	if strings.HasPrefix(text, "target_and_local_id_dont_match(") {
		return text, true
	}
	return "", false
}

// TestPeerCORERelocs relocates relocs-el.elf against its own BTF, which
// holds the target types (the ___flavour variants) the programs expect.
func TestPeerCORERelocs(t *testing.T) {
	requireKernel(t)
	path := ciliumTestdata(t, "btf/testdata/relocs-el.elf")
	target, err := btf.LoadSpec(path)
	must(t, err)
	runPeerCORE(t, "relocs-el.elf", target)
}

// TestPeerCORERead relocates relocs_read-el.elf against relocs_read_tgt,
// whose structs and bitfields are laid out differently.
func TestPeerCORERead(t *testing.T) {
	requireKernel(t)
	target, err := btf.LoadSpec(ciliumTestdata(t, "btf/testdata/relocs_read_tgt-el.elf"))
	must(t, err)
	runPeerCORE(t, "relocs_read-el.elf", target)
}

// TestPeerCOREEnum relocates relocs_enum-el.elf, an enum relocation on an
// ld_imm64, against the running kernel.
func TestPeerCOREEnum(t *testing.T) {
	requireKernel(t)
	requireKernelBTF(t)
	runPeerCORE(t, "relocs_enum-el.elf", nil)
}
