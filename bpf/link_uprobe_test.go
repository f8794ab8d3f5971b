package bpf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/rawload/rawload/bpf/internal/elfsym"
)

// probeTargetC is the program the uprobe and USDT tests probe. It calls
// rawload_probe_me(i) and rawload_probe_too(i), and fires the USDT probe
// rawload:hit with five arguments of different forms, for i = 1..N (argv[1]),
// rawload:global with two arguments that name symbols at -O2
// ("8@rawload_counter(%rip)", "4@table(,%rdx,4)" without PIC),
// and rawload:gated only while a tracer holds its semaphore; with a
// second argument it first waits for a byte on stdin, so that a test can
// attach to a process that exists. Built WITH_LIB, it also calls
// rawload_lib_fn of librawload_probe.so, whose USDT probe is
// rawload_lib:call.
const probeTargetC = `
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
#include <stdio.h>
#include <stdlib.h>

unsigned short rawload_hit_semaphore __attribute__((unused)) __attribute__((section(".probes")));
unsigned short rawload_gated_semaphore __attribute__((unused)) __attribute__((section(".probes")));
unsigned short rawload_global_semaphore __attribute__((unused)) __attribute__((section(".probes")));
long rawload_counter;

#ifdef WITH_LIB
int rawload_lib_fn(int x);
#endif

__attribute__((noipa)) int rawload_probe_me(int x) { __asm__ volatile("" ::: "memory"); return x * 2; }
__attribute__((noipa)) int rawload_probe_too(int x) { __asm__ volatile("" ::: "memory"); return x + 1; }

static int table[4] = {10, 20, 30, 40};

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;
	if (argc > 2) {
		char c;
		if (fread(&c, 1, 1, stdin) != 1)
			return 2;
	}
	/*
	 * At -O2 the probe reads table[i & 3] from memory ("table(,%rax,4)")
	 * that the program itself never loads; a BPF program cannot fault
	 * a page in, so touch it first.
	 */
	*(volatile int *)&table[0];
	for (int i = 1; i <= n; i++) {
		rawload_probe_me(i);
		rawload_probe_too(i);
		DTRACE_PROBE5(rawload, hit, i, (long)i * 3, 5, table[i & 3], (short)-i);
		__atomic_fetch_add(&rawload_counter, i, __ATOMIC_RELAXED);
		DTRACE_PROBE2(rawload, global, rawload_counter, table[i & 3]);
		if (rawload_gated_semaphore)
			DTRACE_PROBE1(rawload, gated, i);
#ifdef WITH_LIB
		rawload_lib_fn(i);
#endif
	}
	return 0;
}
`

const probeLibC = `
#include <sys/sdt.h>

__attribute__((noipa)) int rawload_lib_fn(int x)
{
	DTRACE_PROBE1(rawload_lib, call, x);
	return x + 1;
}
`

// probeTargets builds the probed programs of one test with gcc, into the
// test's temporary directory, each the first time the test asks for it.
type probeTargets struct {
	t           *testing.T
	gcc, dir    string
	src, libSrc string // sources
	sdt         bool   // built with <sys/sdt.h>
	built       map[string]string
}

// buildProbeTargets prepares the sources. Without gcc the test is
// skipped; without <sys/sdt.h> (systemtap-sdt-dev) the programs are built
// without USDT probes, and the USDT tests skip.
func buildProbeTargets(t *testing.T) *probeTargets {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		t.Skipf("the probed programs read x86-64 registers; this is %s", runtime.GOARCH)
	}
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skipf("building the probed programs: %v", err)
	}
	dir := t.TempDir()
	b := &probeTargets{t: t, gcc: gcc, dir: dir, src: filepath.Join(dir, "target.c"), libSrc: filepath.Join(dir, "lib.c"), built: map[string]string{}}
	main, lib := probeTargetC, probeLibC
	b.sdt = compiles(gcc, dir, "#include <sys/sdt.h>\nint main(void){return 0;}\n")
	if !b.sdt {
		// No SDT probes: stand-ins, so that the uprobe tests still run.
		stub := "#define DTRACE_PROBE1(p,n,a)\n#define DTRACE_PROBE2(p,n,a,b)\n#define DTRACE_PROBE5(p,n,a,b,c,d,e)\n"
		main = stub + strings.ReplaceAll(main, "#include <sys/sdt.h>", "")
		lib = stub + strings.ReplaceAll(lib, "#include <sys/sdt.h>", "")
	}
	must(t, os.WriteFile(b.src, []byte(main), 0o600))
	must(t, os.WriteFile(b.libSrc, []byte(lib), 0o600))
	return b
}

func (b *probeTargets) build(name string, args ...string) string {
	b.t.Helper()
	if out, ok := b.built[name]; ok {
		return out
	}
	out := filepath.Join(b.dir, name)
	args = append([]string{"-g", "-Wall", "-o", out}, args...)
	if msg, err := exec.Command(b.gcc, args...).CombinedOutput(); err != nil {
		b.t.Fatalf("gcc %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	b.built[name] = out
	return out
}

// pie is the program as a PIE built at -O0.
func (b *probeTargets) pie() string { return b.build("target_pie", "-O0", "-fPIE", "-pie", b.src) }

// pieO2 is the program as a PIE built at -O2.
func (b *probeTargets) pieO2() string { return b.build("target_pie_o2", "-O2", "-fPIE", "-pie", b.src) }

// noPIE is the program as a position-dependent executable built at -O2.
func (b *probeTargets) noPIE() string {
	return b.build("target_nopie", "-O2", "-fno-PIE", "-no-pie", b.src)
}

// sharedLib is the shared object librawload_probe.so.
func (b *probeTargets) sharedLib() string {
	return b.build("librawload_probe.so", "-O1", "-shared", "-fPIC", b.libSrc)
}

// withLib is the program (a PIE) linked with the shared object.
func (b *probeTargets) withLib() string {
	b.sharedLib()
	return b.build("target_lib", "-O0", "-DWITH_LIB", b.src, "-L"+b.dir, "-lrawload_probe", "-Wl,-rpath,"+b.dir)
}

func compiles(gcc, dir, src string) bool {
	path := filepath.Join(dir, "probe_sdt.c")
	if os.WriteFile(path, []byte(src), 0o600) != nil {
		return false
	}
	return exec.Command(gcc, "-c", "-o", filepath.Join(dir, "probe_sdt.o"), path).Run() == nil
}

// runProbed runs a probed program with n iterations and waits for it.
func runProbed(t *testing.T, bin string, n int) {
	t.Helper()
	out, err := exec.Command(bin, fmt.Sprint(n)).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %d: %v\n%s", bin, n, err, out)
	}
}

// startProbed starts a probed program that waits for a byte on stdin
// before its n iterations; go lets it run and waits for it.
func startProbed(t *testing.T, bin string, n int) (pid int, run func()) {
	t.Helper()
	cmd := exec.Command(bin, fmt.Sprint(n), "wait")
	stdin, err := cmd.StdinPipe()
	must(t, err)
	must(t, cmd.Start())
	done := false
	run = func() {
		if done {
			return
		}
		done = true
		stdin.Write([]byte{1})
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("%s: %v", bin, err)
		}
	}
	t.Cleanup(run)
	return cmd.Process.Pid, run
}

// TestUprobe attaches a uprobe and a uretprobe to a function of a PIE
// built at -O0 and of a position-dependent executable built at -O2; each
// counts exactly the calls, reads the argument and the return value, and
// stops counting when its link closes.
func TestUprobe(t *testing.T) {
	requireKernel(t)
	bins := buildProbeTargets(t)
	warmPoller(t)
	for _, bin := range []string{bins.pie(), bins.noPIE()} {
		t.Run(filepath.Base(bin), func(t *testing.T) {
			checkNoLeak(t)
			obj := openAttachTracing(t, 0)
			up := loadProgram(t, obj, "uprobe_count")
			uret := loadProgram(t, obj, "uretprobe_count")
			target := bin + ":rawload_probe_me"
			l1, err := up.AttachWith(AttachOptions{Target: target, Cookie: 0xc0de})
			must(t, err)
			l2, err := uret.AttachWith(AttachOptions{Target: target})
			must(t, err)
			if l1.Kind != "uprobe" || l2.Kind != "uretprobe" || l1.Target != target {
				t.Errorf("links %s on %s and %s", l1.Kind, l1.Target, l2.Kind)
			}
			const n = 9
			runProbed(t, bin, n)
			sum := n * (n + 1) / 2
			check := func(name string, want int64) {
				t.Helper()
				if got := int64(readVarU64(t, obj, name)); got != want {
					t.Errorf("%s = %d, want %d", name, got, want)
				}
			}
			check("uprobe_hits", n)
			check("uprobe_arg_sum", int64(sum))
			check("uprobe_cookie", 0xc0de)
			check("uretprobe_hits", n)
			check("uretprobe_ret_sum", int64(2*sum))
			must(t, l1.Close())
			must(t, l2.Close())
			runProbed(t, bin, n)
			check("uprobe_hits", n)
			check("uretprobe_hits", n)
		})
	}
}

// TestUprobeSharedLibrary probes a function of a shared object that a
// program loads: the symbol's file offset is the same in every process.
func TestUprobeSharedLibrary(t *testing.T) {
	requireKernel(t)
	bins := buildProbeTargets(t)
	warmPoller(t)
	checkNoLeak(t)
	obj := openAttachTracing(t, 0)
	up := loadProgram(t, obj, "uprobe_count")
	l, err := up.AttachWith(AttachOptions{Target: bins.sharedLib() + ":rawload_lib_fn"})
	must(t, err)
	defer l.Close()
	const n = 6
	runProbed(t, bins.withLib(), n)
	if got := readVarU64(t, obj, "uprobe_hits"); got != n {
		t.Errorf("uprobe_hits = %d, want %d", got, n)
	}
	if got := readVarU64(t, obj, "uprobe_arg_sum"); got != n*(n+1)/2 {
		t.Errorf("uprobe_arg_sum = %d, want %d", got, n*(n+1)/2)
	}
}

// TestUprobeOffsetAndPID attaches by a raw file offset and only in one of
// two processes running the program: the other does not count.
func TestUprobeOffsetAndPID(t *testing.T) {
	requireKernel(t)
	bins := buildProbeTargets(t)
	warmPoller(t)
	checkNoLeak(t)
	f, err := elfsym.Open(bins.pie())
	must(t, err)
	fn, err := f.FuncOffset("rawload_probe_me")
	f.Close()
	must(t, err)

	obj := openAttachTracing(t, 0)
	up := loadProgram(t, obj, "uprobe_count")
	pid, run := startProbed(t, bins.pie(), 5)
	otherPID, runOther := startProbed(t, bins.pie(), 7)
	l, err := up.AttachWith(AttachOptions{Target: fmt.Sprintf("%s:%#x", bins.pie(), fn.Offset), PID: pid})
	must(t, err)
	defer l.Close()
	runOther()
	run()
	if got := readVarU64(t, obj, "uprobe_hits"); got != 5 {
		t.Errorf("uprobe_hits = %d with PID %d (5 calls) and %d (7 calls, not probed), want 5", got, pid, otherPID)
	}
}

// TestUprobeMulti attaches one uprobe_multi link to every function of a
// binary that matches a pattern.
func TestUprobeMulti(t *testing.T) {
	requireKernel(t)
	bins := buildProbeTargets(t)
	warmPoller(t)
	checkNoLeak(t)
	obj := openAttachTracing(t, 0)
	p := loadProgram(t, obj, "uprobe_multi_count")
	l, err := p.AttachWith(AttachOptions{Target: bins.noPIE() + ":rawload_probe_*"})
	must(t, err)
	defer l.Close()
	info, err := l.Info()
	must(t, err)
	if info.Type != 12 { // BPF_LINK_TYPE_UPROBE_MULTI
		t.Errorf("link type %d, want BPF_LINK_TYPE_UPROBE_MULTI (12)", info.Type)
	}
	const n = 4
	runProbed(t, bins.noPIE(), n)
	if got := readVarU64(t, obj, "uprobe_multi_hits"); got != 2*n {
		t.Errorf("uprobe_multi_hits = %d, want %d (two functions, %d calls each)", got, 2*n, n)
	}
	if _, err := p.AttachWith(AttachOptions{Target: bins.noPIE() + ":no_such_*"}); !errors.Is(err, elfsym.ErrNotFound) {
		t.Errorf("pattern matching nothing: %v", err)
	}
}

// TestUprobeSleepable attaches a sleepable uprobe (uprobe.s).
func TestUprobeSleepable(t *testing.T) {
	requireKernel(t)
	bins := buildProbeTargets(t)
	warmPoller(t)
	checkNoLeak(t)
	obj := openAttachTracing(t, 0)
	p := loadProgram(t, obj, "uprobe_sleepable")
	l, err := p.AttachWith(AttachOptions{Target: bins.pie() + ":rawload_probe_too"})
	must(t, err)
	defer l.Close()
	runProbed(t, bins.pie(), 3)
	if got := readVarU64(t, obj, "uprobe_sleepable_hits"); got != 3 {
		t.Errorf("uprobe_sleepable_hits = %d, want 3", got)
	}
}

// TestUprobeLegacy goes through tracefs's uprobe_events, as kernels
// without the uprobe PMU do: the probe counts, and closing the link
// removes the trace event it made.
func TestUprobeLegacy(t *testing.T) {
	requireKernel(t)
	bins := buildProbeTargets(t)
	dir := requireTracefs(t)
	if _, err := os.Stat(filepath.Join(dir, "uprobe_events")); err != nil {
		t.Skipf("no uprobe_events: %v", err)
	}
	warmPoller(t)
	checkNoLeak(t)
	legacyUprobes = true
	defer func() { legacyUprobes = false }()
	obj := openAttachTracing(t, 0)
	up := loadProgram(t, obj, "uprobe_count")
	uret := loadProgram(t, obj, "uretprobe_count")
	l1, err := up.AttachWith(AttachOptions{Target: bins.pie() + ":rawload_probe_me"})
	must(t, err)
	l2, err := uret.AttachWith(AttachOptions{Target: bins.pie() + ":rawload_probe_me"})
	must(t, err)
	if l1.FD() != -1 {
		t.Errorf("a legacy uprobe has link fd %d; it is held by its perf event", l1.FD())
	}
	events, err := os.ReadFile(filepath.Join(dir, "uprobe_events"))
	must(t, err)
	mine := fmt.Sprintf("rawload/rawload_%d_", os.Getpid())
	if !strings.Contains(string(events), mine) {
		t.Errorf("uprobe_events has no %s...:\n%s", mine, events)
	}
	if _, err := up.AttachWith(AttachOptions{Target: bins.pie() + ":rawload_probe_me", Cookie: 1}); err == nil {
		t.Error("a cookie was accepted on a legacy uprobe")
	}
	runProbed(t, bins.pie(), 8)
	if got := readVarU64(t, obj, "uprobe_hits"); got != 8 {
		t.Errorf("uprobe_hits = %d, want 8", got)
	}
	if got := readVarU64(t, obj, "uretprobe_ret_sum"); got != 2*36 {
		t.Errorf("uretprobe_ret_sum = %d, want %d", got, 2*36)
	}
	must(t, up.Reload())
	runProbed(t, bins.pie(), 1)
	if got := readVarU64(t, obj, "uprobe_hits"); got != 9 {
		t.Errorf("after a reload uprobe_hits = %d, want 9", got)
	}
	must(t, l1.Close())
	must(t, l2.Close())
	events, err = os.ReadFile(filepath.Join(dir, "uprobe_events"))
	must(t, err)
	if strings.Contains(string(events), mine) {
		t.Errorf("uprobe_events still has rawload's events after close:\n%s", events)
	}
}

// TestUprobeReload reloads a program with a uprobe: the new instance is
// attached before the old one goes, and counts on.
func TestUprobeReload(t *testing.T) {
	requireKernel(t)
	bins := buildProbeTargets(t)
	warmPoller(t)
	checkNoLeak(t)
	obj := openAttachTracing(t, 0)
	up := loadProgram(t, obj, "uprobe_count")
	l, err := up.AttachWith(AttachOptions{Target: bins.pie() + ":rawload_probe_me"})
	must(t, err)
	defer l.Close()
	runProbed(t, bins.pie(), 2)
	must(t, up.Reload())
	runProbed(t, bins.pie(), 3)
	if got := readVarU64(t, obj, "uprobe_hits"); got != 5 {
		t.Errorf("uprobe_hits = %d across a reload, want 5", got)
	}
	info, err := l.Info()
	must(t, err)
	id, err := progInfo(up)
	must(t, err)
	if info.ProgID != id {
		t.Errorf("the link runs program %d, the loaded instance is %d", info.ProgID, id)
	}
}

// TestUprobeMissing names what is missing: the binary, the function, the
// form of the target.
func TestUprobeMissing(t *testing.T) {
	requireKernel(t)
	bins := buildProbeTargets(t)
	checkNoLeak(t)
	obj := openAttachTracing(t, 0)
	up := loadProgram(t, obj, "uprobe_count")
	_, err := up.Attach()
	if !errors.Is(err, ErrAttachTargetMissing) || !strings.Contains(err.Error(), "BINARY:FUNCTION") {
		t.Errorf("no target: %v", err)
	}
	_, err = up.AttachWith(AttachOptions{Target: "/no/such/binary:main"})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "/no/such/binary") {
		t.Errorf("missing binary: %v", err)
	}
	_, err = up.AttachWith(AttachOptions{Target: bins.pie() + ":no_such_function"})
	if !errors.Is(err, elfsym.ErrNotFound) || !strings.Contains(err.Error(), "no function no_such_function") {
		t.Errorf("missing function: %v", err)
	}
	if _, err = up.AttachWith(AttachOptions{Target: bins.pie()}); err == nil {
		t.Error("a target without a function was accepted")
	}
	_, err = up.AttachWith(AttachOptions{Target: "no-such-program-anywhere:main"})
	if !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("a program not in PATH: %v", err)
	}
}

// TestResolveBinary finds programs in PATH and libraries where the
// dynamic linker looks.
func TestResolveBinary(t *testing.T) {
	sh, err := resolveBinary("sh")
	if err != nil || !filepath.IsAbs(sh) {
		t.Errorf("sh: %q, %v", sh, err)
	}
	dir := t.TempDir()
	lib := filepath.Join(dir, "libfake.so.1")
	must(t, os.WriteFile(lib, nil, 0o600))
	t.Setenv("LD_LIBRARY_PATH", "/nonexistent:"+dir)
	if got, err := resolveBinary("libfake.so.1"); err != nil || got != lib {
		t.Errorf("libfake.so.1: %q, %v", got, err)
	}
	if _, err := resolveBinary("libnonexistent.so"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing library: %v", err)
	}
}
