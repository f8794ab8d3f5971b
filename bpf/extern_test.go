package bpf

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"
)

// testKernelConfig reads /proc/config.gz itself, so that the test checks
// rawload's kconfig values instead of repeating its parser: CONFIG_X to
// the raw text after '=', "n" for "# CONFIG_X is not set".
func testKernelConfig(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("/proc/config.gz")
	if errors.Is(err, os.ErrNotExist) {
		t.Skip("no /proc/config.gz: the kernel was built without IKCONFIG_PROC")
	}
	must(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	must(t, err)
	config := map[string]string{}
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "# "); ok {
			if name, ok := strings.CutSuffix(name, " is not set"); ok {
				config[name] = "n"
			}
			continue
		}
		if name, value, ok := strings.Cut(line, "="); ok && strings.HasPrefix(name, "CONFIG_") {
			config[name] = value
		}
	}
	must(t, sc.Err())
	return config
}

// kallsymsLines returns every address /proc/kallsyms lists for name (a
// vmlinux symbol, not a module's), parsed here rather than by rawload.
func kallsymsLines(t *testing.T, name string) []uint64 {
	t.Helper()
	data, err := os.ReadFile("/proc/kallsyms")
	must(t, err)
	var addrs []uint64
	for line := range bytes.Lines(data) {
		fields := strings.Fields(string(line))
		if len(fields) != 3 || fields[2] != name {
			continue
		}
		addr, err := strconv.ParseUint(fields[0], 16, 64)
		must(t, err)
		addrs = append(addrs, addr)
	}
	return addrs
}

// TestExterns runs externs_prog, which copies every .kconfig and .ksyms
// extern into .bss, and checks each value against the kernel itself.
func TestExterns(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	config := testKernelConfig(t)

	var uts unix.Utsname
	must(t, unix.Uname(&uts))
	release := unix.ByteSliceToString(uts.Release[:])
	var version [3]uint64
	for i, part := range strings.SplitN(strings.SplitN(release, "-", 2)[0], ".", 3) {
		n, err := strconv.ParseUint(strings.TrimRightFunc(part, func(r rune) bool { return r < '0' || r > '9' }), 10, 32)
		if err != nil {
			t.Fatalf("release %q: %v", release, err)
		}
		version[i] = n
	}
	wantVersion := version[0]<<16 | version[1]<<8 | min(version[2], 255)

	tristate := map[string]uint64{"n": 0, "y": 1, "m": 2}
	tun, ok := tristate[config["CONFIG_TUN"]]
	if !ok {
		tun = 0 // absent from the config: not built
	}
	hz, err := strconv.ParseUint(config["CONFIG_HZ"], 10, 32)
	if err != nil {
		t.Fatalf("CONFIG_HZ=%q: %v", config["CONFIG_HZ"], err)
	}
	hostname, err := strconv.Unquote(config["CONFIG_DEFAULT_HOSTNAME"])
	if err != nil {
		t.Fatalf("CONFIG_DEFAULT_HOSTNAME=%s: %v", config["CONFIG_DEFAULT_HOSTNAME"], err)
	}
	if config["CONFIG_BPF_SYSCALL"] != "y" {
		t.Fatalf("CONFIG_BPF_SYSCALL=%q on a kernel that runs BPF", config["CONFIG_BPF_SYSCALL"])
	}

	unlinkat := kallsymsLines(t, "do_unlinkat")
	if len(unlinkat) != 1 {
		t.Fatalf("/proc/kallsyms lists do_unlinkat %d times, the test needs it once", len(unlinkat))
	}
	if unlinkat[0] == 0 {
		t.Skip("/proc/kallsyms hides addresses (kptr_restrict)")
	}

	obj := mustOpen(t, testdata("externs.o"), nil)
	must(t, obj.Load(context.Background()))
	if got := testRun(t, obj.Program("externs_prog")); got != 0 {
		t.Fatalf("externs_prog returned %d, want 0", got)
	}

	for _, tc := range []struct {
		name string
		want uint64
		why  string
	}{
		{"ext_kernel_version", wantVersion, "LINUX_KERNEL_VERSION from uname release " + release},
		{"ext_bpf_syscall", 1, "CONFIG_BPF_SYSCALL=y"},
		{"ext_tun_tristate", tun, "CONFIG_TUN=" + config["CONFIG_TUN"]},
		{"ext_hz", hz, "CONFIG_HZ=" + config["CONFIG_HZ"]},
		{"ext_missing_config", 0, "weak CONFIG_RAWLOAD_DOES_NOT_EXIST"},
		{"ext_unlinkat_addr", unlinkat[0], "do_unlinkat in /proc/kallsyms"},
		{"ext_missing_ksym_addr", 0, "weak untyped ksym rawload_no_such_ksym"},
		{"ext_missing_typed_addr", 0, "weak typed ksym rawload_no_such_percpu"},
	} {
		if got := readVarU64(t, obj, tc.name); got != tc.want {
			t.Errorf("%s = %#x, want %#x (%s)", tc.name, got, tc.want, tc.why)
		}
	}

	want := make([]byte, 16)
	copy(want, hostname)
	if got := readVarBytes(t, obj, "ext_hostname"); !bytes.Equal(got, want) {
		t.Errorf("ext_hostname = %q, want %q NUL padded", got, hostname)
	}

	// The syscall wrapper prefix is per architecture; x86-64 and arm64
	// wrap every syscall since 4.17.
	prefix := map[string]string{"amd64": "__x64_sys_bpf", "arm64": "__arm64_sys_bpf"}[runtime.GOARCH]
	if prefix != "" {
		want := uint64(0)
		if len(kallsymsLines(t, prefix)) > 0 {
			want = 1
		}
		if got := readVarU64(t, obj, "ext_syscall_wrapper"); got != want {
			t.Errorf("ext_syscall_wrapper = %d, want %d (%s in kallsyms)", got, want, prefix)
		}
	}
}

// TestTypedKsym checks that a typed ksym becomes an ld_imm64 of the
// kernel's BTF id of the variable. The load itself needs the variable's
// address from kallsyms, which without CONFIG_KALLSYMS_ALL (the test VM)
// lists no data symbols: the kernel then refuses with ENOENT naming the
// symbol, an answer it gives only for a valid VAR id (a wrong id is
// EINVAL). With KALLSYMS_ALL the program loads and reads per-CPU data.
func TestTypedKsym(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	_, cpuNumberID := vmlinuxType[*btf.Var](t, "cpu_number")

	obj := mustOpen(t, testdata("percpu_ksym.o"), nil)
	prog := obj.Program("percpu_prog")
	insns := decodeInsns(t, prog.Instructions())
	var sites []int
	for i, in := range insns {
		if in.op != opLdImm64 || in.src != 3 { // BPF_PSEUDO_BTF_ID
			continue
		}
		sites = append(sites, i)
		if in.imm != int32(cpuNumberID) || insns[i+1].imm != 0 {
			t.Errorf("insn %d: ld_imm64 BTF id %d, BTF object %d; want cpu_number's %d in vmlinux (0)",
				i, in.imm, insns[i+1].imm, cpuNumberID)
		}
	}
	if len(sites) != 2 {
		t.Errorf("%d ld_imm64 BPF_PSEUDO_BTF_ID at %v, want 2 (cpu_number at insns 0 and 11)", len(sites), sites)
	}

	err := obj.Load(context.Background())
	if len(kallsymsLines(t, "cpu_number")) > 0 {
		// CONFIG_KALLSYMS_ALL: the verifier can resolve the address.
		must(t, err)
		if got := testRun(t, prog); got != 0 {
			t.Fatalf("percpu_prog returned %d", got)
		}
		if this, cpu := readVarU64(t, obj, "this_cpu_number"), readVarU64(t, obj, "smp_processor_id"); this != cpu {
			t.Errorf("this_cpu_number %d, smp_processor_id %d", this, cpu)
		}
		if got := readVarU64(t, obj, "cpu0_number"); got != 0 {
			t.Errorf("cpu0_number %d, want 0", got)
		}
		return
	}
	var verr *VerifierError
	if !errors.As(err, &verr) || !errors.Is(err, unix.ENOENT) {
		t.Fatalf("Load: %v, want a *VerifierError with ENOENT", err)
	}
	if !strings.Contains(verr.Log, "cpu_number") {
		t.Errorf("verifier log does not name cpu_number:\n%s", verr.Log)
	}
}

// TestKfuncs checks kfunc calls both in the final instructions and by
// running them.
func TestKfuncs(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	_, fromPID := vmlinuxType[*btf.Func](t, "bpf_task_from_pid")
	_, release := vmlinuxType[*btf.Func](t, "bpf_task_release")
	_, rcuLock := vmlinuxType[*btf.Func](t, "bpf_rcu_read_lock")
	_, rcuUnlock := vmlinuxType[*btf.Func](t, "bpf_rcu_read_unlock")

	obj := mustOpen(t, testdata("kfunc.o"), nil)

	// calls lists a program's call instructions as {src_reg, imm}.
	calls := func(name string) [][2]int64 {
		var out [][2]int64
		for _, in := range decodeInsns(t, obj.Program(name).Instructions()) {
			if in.op == opCall {
				out = append(out, [2]int64{int64(in.src), int64(in.imm)})
			}
		}
		return out
	}
	const kfunc, helper = 2, 0 // BPF_PSEUDO_KFUNC_CALL, a helper call
	want := map[string][][2]int64{
		// helper 14 is bpf_get_current_pid_tgid.
		"kfunc_task":    {{helper, 14}, {kfunc, int64(fromPID)}, {kfunc, int64(release)}},
		"kfunc_syscall": {{helper, 14}, {kfunc, int64(fromPID)}, {kfunc, int64(release)}},
		// The missing weak kfunc's dead call is poisoned as a helper call
		// that does not exist, as libbpf does.
		"kfunc_missing":      {{helper, 0xbad2310}},
		"kfunc_weak_present": {{kfunc, int64(rcuLock)}, {kfunc, int64(rcuUnlock)}},
	}
	for name, w := range want {
		if got := calls(name); !equalCalls(got, w) {
			t.Errorf("%s calls (src, imm) %v, want %v", name, got, w)
		}
	}

	// bpf_ksym_exists: the missing kfunc's ld_imm64 is the constant 0,
	// the present one's the kfunc's BTF id.
	for _, tc := range []struct {
		prog string
		src  uint8
		imm  uint64
	}{
		{"kfunc_missing", 0, 0},
		{"kfunc_weak_present", 3, uint64(rcuLock)},
	} {
		var lds []insn
		for _, in := range decodeInsns(t, obj.Program(tc.prog).Instructions()) {
			if in.op == opLdImm64 {
				lds = append(lds, in)
			}
		}
		if len(lds) != 1 || lds[0].src != tc.src || lds[0].imm64 != tc.imm {
			t.Errorf("%s: ld_imm64 %+v, want one with src_reg %d and imm %d", tc.prog, lds, tc.src, tc.imm)
		}
	}

	must(t, obj.Load(context.Background()))
	for _, tc := range []struct {
		prog string
		data []byte
		want uint32
	}{
		{"kfunc_task", packet, 1},
		{"kfunc_missing", packet, 7},
		{"kfunc_weak_present", packet, 3},
		// A syscall program takes no packet: TestRun passes data as its
		// context, none here.
		{"kfunc_syscall", nil, 1},
		{"kfunc_syscall", make([]byte, 8), 1},
	} {
		got, err := obj.Program(tc.prog).TestRun(tc.data)
		if err != nil {
			// The kernel refuses repeat, data_in, data_out, ctx_out,
			// duration, flags and batch_size for syscall programs
			// (bpf_prog_test_run_syscall): EINVAL if any is set.
			t.Errorf("%s with %d bytes: %v", tc.prog, len(tc.data), err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s with %d bytes returned %d, want %d", tc.prog, len(tc.data), got, tc.want)
		}
	}
}

func equalCalls(a, b [][2]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
