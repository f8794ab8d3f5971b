package bench

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
)

// toolObjects are the objects in the style of real tools that
// cmd/compare measures by default.
func toolObjects(tb testing.TB) []string {
	tb.Helper()
	objs, err := filepath.Glob("../testdata/tool_*.o")
	if err != nil || len(objs) == 0 {
		tb.Fatalf("no ../testdata/tool_*.o (%v)", err)
	}
	return objs
}

// TestToolObjects loads every tool_*.o with rawload, cilium/ebpf and,
// when its harness can be built here, libbpf, each loading every program
// and creating only the maps they use.
func TestToolObjects(t *testing.T) {
	requireKernel(t)
	libbpfLoader, _, _, libbpfErr := BuildLibbpf(context.Background(), "libbpf", t.TempDir(), "")
	for _, obj := range toolObjects(t) {
		t.Run(filepath.Base(obj), func(t *testing.T) {
			progs, maps, all, _, err := Plan(obj)
			if err != nil {
				t.Fatal(err)
			}
			if !all {
				t.Errorf("%s: some program or map would not be loaded: tool objects load whole", obj)
			}
			if n, err := LoadRawload(obj, nil, nil); err != nil || n != len(progs) {
				t.Errorf("rawload: %d of %d programs: %v", n, len(progs), err)
			}
			if n, err := LoadCilium(obj, nil); err != nil || n != len(progs) {
				t.Errorf("cilium/ebpf: %d of %d programs: %v", n, len(progs), err)
			}
			if libbpfErr != nil {
				t.Skipf("libbpf harness not built: %v", libbpfErr)
			}
			args := []string{"-n", "1"}
			for _, m := range maps {
				args = append(args, "-m", m)
			}
			out, err := exec.Command(libbpfLoader, append(args, obj)...).CombinedOutput()
			if err != nil {
				t.Fatalf("libbpf: %v: %s", err, out)
			}
			if want := strconv.Itoa(len(progs)) + " programs loaded per run"; !strings.Contains(string(out), want) {
				t.Errorf("libbpf: want %q in %s", want, out)
			}
		})
	}
}

// TestNarrowCiliumSpec checks that the cilium/ebpf side creates only the
// maps the chosen programs use, as rawload and the libbpf harness do.
func TestNarrowCiliumSpec(t *testing.T) {
	spec, err := ebpf.LoadCollectionSpec("../testdata/tool_sockfilter.o")
	if err != nil {
		t.Fatal(err)
	}
	if err := NarrowCiliumSpec(spec, []string{"sock_tcp_udp_only"}); err != nil {
		t.Fatal(err)
	}
	var progs, maps []string
	for name := range spec.Programs {
		progs = append(progs, name)
	}
	for name := range spec.Maps {
		maps = append(maps, name)
	}
	if !slices.Equal(progs, []string{"sock_tcp_udp_only"}) || !slices.Equal(maps, []string{".rodata"}) {
		t.Errorf("narrowed to programs %q, maps %q; want sock_tcp_udp_only and .rodata", progs, maps)
	}
	if err := NarrowCiliumSpec(spec, []string{"nope"}); err == nil {
		t.Error("narrowing to a program the object lacks did not fail")
	}

	// rawload's view of the same object agrees.
	_, used, _, _, err := Plan("../testdata/tool_sockfilter.o")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"proto_packets", "port_bytes", ".rodata"}; !slices.Equal(used, want) {
		t.Errorf("Plan: maps %q, want %q", used, want)
	}
}

// TestHarness runs the shared command line of cmd/ciliumload and
// cmd/rawloadload with a fake load.
func TestHarness(t *testing.T) {
	var stdout, stderr strings.Builder
	var got [][]string
	code := Harness("x", []string{"-n", "3", "-p", "a", "-p", "b", "-m", "ignored", "obj.o"}, &stdout, &stderr,
		func(path string, progs []string) (int, error) {
			got = append(got, append([]string{path}, progs...))
			return len(progs), nil
		})
	if code != 0 || len(got) != 3 || !slices.Equal(got[0], []string{"obj.o", "a", "b"}) {
		t.Fatalf("exit %d, loads %q, stderr %s", code, got, stderr.String())
	}
	if lines := strings.Fields(stdout.String()); len(lines) != 3 {
		t.Errorf("stdout %q: want 3 times", stdout.String())
	}
	if !strings.Contains(stderr.String(), "2 programs loaded per run") {
		t.Errorf("stderr %q", stderr.String())
	}
	stdout.Reset()
	if code := Harness("x", []string{"-1", "obj.o"}, &stdout, &stderr, func(string, []string) (int, error) { return 1, nil }); code != 0 || stdout.Len() != 0 {
		t.Errorf("-1: exit %d, stdout %q", code, stdout.String())
	}
	if code := Harness("x", nil, &stdout, &stderr, nil); code != 2 {
		t.Errorf("no object: exit %d, want 2", code)
	}
}
