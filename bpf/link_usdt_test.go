package bpf

import (
	"context"
	"encoding/binary"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rawload/rawload/bpf/internal/elfsym"
)

// requireSDT skips a test whose probed programs were built without
// <sys/sdt.h>.
func requireSDT(t *testing.T, bins *probeTargets) {
	t.Helper()
	if !bins.sdt {
		t.Skip("no <sys/sdt.h> to build USDT probes with (apt-get install systemtap-sdt-dev)")
	}
}

// readVarS64s reads a global array of int64.
func readVarS64s(t *testing.T, obj *Object, name string) []int64 {
	t.Helper()
	v, err := obj.Variable(name)
	must(t, err)
	buf := make([]byte, v.Size())
	must(t, v.Read(buf))
	out := make([]int64, len(buf)/8)
	for i := range out {
		out[i] = int64(binary.NativeEndian.Uint64(buf[8*i:]))
	}
	return out
}

// TestUSDT attaches to the USDT probe rawload:hit of a PIE built at -O0
// (arguments in memory) and of a position-dependent executable built at
// -O2 (arguments in registers and constants): the program counts every
// firing and reads all five arguments, of sizes 1 to 8 and both
// signednesses, through the specs rawload wrote, with the cookie given.
func TestUSDT(t *testing.T) {
	requireKernel(t)
	bins := buildProbeTargets(t)
	requireSDT(t, bins)
	warmPoller(t)
	for _, bin := range []string{bins.pie(), bins.noPIE()} {
		t.Run(filepath.Base(bin), func(t *testing.T) {
			checkNoLeak(t)
			f, err := elfsym.Open(bin)
			must(t, err)
			probes, err := f.USDTProbes()
			f.Close()
			must(t, err)
			for _, p := range probes {
				t.Logf("%s:%s at %#x (file offset %#x, semaphore %#x): %q", p.Provider, p.Name, p.Addr, p.Offset, p.SemaphoreOffset, p.Args)
			}

			obj := openAttachTracing(t, 0)
			prog := loadProgram(t, obj, "usdt_hit")
			l, err := prog.AttachWith(AttachOptions{Target: bin + ":rawload:hit", Cookie: 0xabcdef})
			must(t, err)
			if l.Kind != "usdt" || !strings.HasSuffix(l.Target, ":rawload:hit") {
				t.Errorf("link %s on %s", l.Kind, l.Target)
			}
			const n = 11
			runProbed(t, bin, n)
			sum := int64(n * (n + 1) / 2)
			var table int64
			for i := 1; i <= n; i++ {
				table += []int64{10, 20, 30, 40}[i&3]
			}
			if got := readVarU64(t, obj, "usdt_hits"); got != n {
				t.Errorf("usdt_hits = %d, want %d", got, n)
			}
			if got := readVarU64(t, obj, "usdt_arg_errors"); got != 0 {
				t.Errorf("%d arguments could not be read", got)
			}
			if got := readVarU64(t, obj, "usdt_arg_cnt"); got != 5 {
				t.Errorf("arg_cnt = %d, want 5", got)
			}
			if got := readVarU64(t, obj, "usdt_cookie"); got != 0xabcdef {
				t.Errorf("usdt cookie %#x, want 0xabcdef", got)
			}
			want := []int64{sum, 3 * sum, 5 * n, table, -sum}
			got := readVarS64s(t, obj, "usdt_arg_sum")
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("sum of argument %d = %d, want %d", i, got[i], want[i])
				}
			}
			must(t, l.Close())
			runProbed(t, bin, n)
			if got := readVarU64(t, obj, "usdt_hits"); got != n {
				t.Errorf("usdt_hits = %d after close, want %d", got, n)
			}
		})
	}
}

// TestUSDTSymbolArguments reads arguments that name symbols, which
// libbpf cannot: "8@rawload_counter(%rip)" in a PIE and
// "4@table(,%rdx,4)" in a position-dependent executable, both read
// relative to the instruction pointer at the probe.
func TestUSDTSymbolArguments(t *testing.T) {
	requireKernel(t)
	bins := buildProbeTargets(t)
	requireSDT(t, bins)
	warmPoller(t)
	for _, bin := range []string{bins.pieO2(), bins.noPIE()} {
		t.Run(filepath.Base(bin), func(t *testing.T) {
			checkNoLeak(t)
			obj := openAttachTracing(t, 0)
			prog := loadProgram(t, obj, "usdt_hit")
			l, err := prog.AttachWith(AttachOptions{Target: bin + ":rawload:global"})
			must(t, err)
			defer l.Close()
			const n = 10
			runProbed(t, bin, n)
			var counter, table int64
			for i := int64(1); i <= n; i++ {
				counter += i * (i + 1) / 2
				table += []int64{10, 20, 30, 40}[i&3]
			}
			if got := readVarU64(t, obj, "usdt_hits"); got != n {
				t.Errorf("usdt_hits = %d, want %d", got, n)
			}
			if got := readVarU64(t, obj, "usdt_arg_errors"); got != 0 {
				t.Errorf("%d arguments could not be read", got)
			}
			got := readVarS64s(t, obj, "usdt_arg_sum")
			if got[0] != counter || got[1] != table {
				t.Errorf("argument sums %d and %d, want %d and %d", got[0], got[1], counter, table)
			}
		})
	}
}

// TestUSDTSemaphore attaches to rawload:gated, which the program fires
// only while its semaphore is non-zero: it counts only because the
// kernel raised the semaphore for the attached probe (ref_ctr_offset),
// and the semaphore drops again when the link closes.
func TestUSDTSemaphore(t *testing.T) {
	requireKernel(t)
	bins := buildProbeTargets(t)
	requireSDT(t, bins)
	warmPoller(t)
	checkNoLeak(t)
	obj := openAttachTracing(t, 0)
	gated := loadProgram(t, obj, "usdt_gated")
	bin := bins.pie()
	l, err := gated.AttachWith(AttachOptions{Target: bin + ":rawload:gated"})
	must(t, err)
	runProbed(t, bin, 4)
	if got := readVarU64(t, obj, "usdt_gated_hits"); got != 4 {
		t.Errorf("usdt_gated_hits = %d, want 4: the semaphore was not raised", got)
	}
	must(t, l.Close())
	// Attached to another probe, the gated one stays off.
	hit := loadProgram(t, obj, "usdt_hit")
	l, err = hit.AttachWith(AttachOptions{Target: bin + ":rawload:hit"})
	must(t, err)
	defer l.Close()
	runProbed(t, bin, 4)
	if got := readVarU64(t, obj, "usdt_gated_hits"); got != 4 {
		t.Errorf("usdt_gated_hits = %d after its link closed, want 4", got)
	}
}

// TestUSDTSharedLibrary attaches to a probe of a shared object, in every
// process that loads it.
func TestUSDTSharedLibrary(t *testing.T) {
	requireKernel(t)
	bins := buildProbeTargets(t)
	requireSDT(t, bins)
	warmPoller(t)
	checkNoLeak(t)
	obj := openAttachTracing(t, 0)
	prog := loadProgram(t, obj, "usdt_hit")
	l, err := prog.AttachWith(AttachOptions{Target: bins.sharedLib() + ":rawload_lib:call"})
	must(t, err)
	defer l.Close()
	const n = 5
	runProbed(t, bins.withLib(), n)
	if got := readVarU64(t, obj, "usdt_hits"); got != n {
		t.Errorf("usdt_hits = %d, want %d", got, n)
	}
	if got := readVarS64s(t, obj, "usdt_arg_sum")[0]; got != n*(n+1)/2 {
		t.Errorf("sum of argument 0 = %d, want %d", got, n*(n+1)/2)
	}
	if got := readVarU64(t, obj, "usdt_arg_cnt"); got != 1 {
		t.Errorf("arg_cnt = %d, want 1", got)
	}
}

// TestUSDTReload reloads a usdt program: the new instance gets spec ids
// of its own before the old one lets its ids go, and reads the
// arguments as well.
func TestUSDTReload(t *testing.T) {
	requireKernel(t)
	bins := buildProbeTargets(t)
	requireSDT(t, bins)
	warmPoller(t)
	checkNoLeak(t)
	obj := openAttachTracing(t, 0)
	prog := loadProgram(t, obj, "usdt_hit")
	bin := bins.noPIE()
	l, err := prog.AttachWith(AttachOptions{Target: bin + ":rawload:hit"})
	must(t, err)
	defer l.Close()
	for range 3 {
		must(t, prog.Reload())
	}
	runProbed(t, bin, 2)
	if got := readVarU64(t, obj, "usdt_hits"); got != 2 {
		t.Errorf("usdt_hits = %d, want 2", got)
	}
	if got := readVarS64s(t, obj, "usdt_arg_sum")[1]; got != 3*3 {
		t.Errorf("sum of argument 1 = %d, want 9", got)
	}
	usdtIDs.mu.Lock()
	inUse := len(usdtIDs.maps[obj.Map("__bpf_usdt_specs")].used)
	usdtIDs.mu.Unlock()
	if inUse != 1 {
		t.Errorf("%d spec ids in use after 3 reloads of one probe site, want 1", inUse)
	}
}

// TestUSDTByAddress takes the path of kernels without BPF cookies: the
// spec id of each site goes into __bpf_usdt_ip_to_spec_id under the
// address the site runs at (the link-time address in a position-dependent
// executable, the mapped one in the process PID names for a PIE), and
// leaves with the link.
func TestUSDTByAddress(t *testing.T) {
	requireKernel(t)
	bins := buildProbeTargets(t)
	requireSDT(t, bins)
	warmPoller(t)
	checkNoLeak(t)
	usdtByIP = true
	defer func() { usdtByIP = false }()
	obj := openAttachTracing(t, 0)
	prog := loadProgram(t, obj, "usdt_hit")
	ipMap := obj.Map("__bpf_usdt_ip_to_spec_id")
	entries := func() map[uint64]uint32 {
		out := map[uint64]uint32{}
		key, next, value := make([]byte, 8), make([]byte, 8), make([]byte, 4)
		var prev []byte
		for ipMap.NextKey(prev, next) == nil {
			must(t, ipMap.Lookup(next, value))
			out[binary.NativeEndian.Uint64(next)] = binary.NativeEndian.Uint32(value)
			copy(key, next)
			prev = key
		}
		return out
	}
	site := func(bin, name string) elfsym.Probe {
		f, err := elfsym.Open(bin)
		must(t, err)
		defer f.Close()
		probes, err := f.USDTProbes()
		must(t, err)
		for _, p := range probes {
			if p.Name == name {
				return p
			}
		}
		t.Fatalf("no probe %s in %s", name, bin)
		return elfsym.Probe{}
	}

	noPIE := bins.noPIE()
	l, err := prog.AttachWith(AttachOptions{Target: noPIE + ":rawload:hit"})
	must(t, err)
	if got, want := entries(), site(noPIE, "hit").Addr; len(got) != 1 || got[want] != 0 {
		t.Errorf("ip map %v, want {%#x: 0}", got, want)
	}
	must(t, l.Close())
	if got := entries(); len(got) != 0 {
		t.Errorf("ip map %v after close, want it empty", got)
	}

	pie := bins.pie()
	if _, err := prog.AttachWith(AttachOptions{Target: pie + ":rawload:hit"}); err == nil {
		t.Error("a PIE was attached by address without a PID")
	}
	pid, run := startProbed(t, pie, 3)
	l, err = prog.AttachWith(AttachOptions{Target: pie + ":rawload:hit", PID: pid})
	must(t, err)
	defer l.Close()
	got := entries()
	if len(got) != 1 {
		t.Fatalf("ip map %v, want one entry", got)
	}
	for ip := range got {
		if ip == site(pie, "hit").Addr || ip%4096 != site(pie, "hit").Addr%4096 {
			t.Errorf("ip %#x for the site at %#x of a PIE: not where it is mapped", ip, site(pie, "hit").Addr)
		}
	}
	run()
	// The kernel has cookies, so the program reads spec id 0 from the
	// cookie it was not given: the spec written is that one.
	if got := readVarU64(t, obj, "usdt_hits"); got != 3 {
		t.Errorf("usdt_hits = %d, want 3", got)
	}
}

// TestUSDTMissing names what is missing: a probe the binary lacks (with
// those it has), a binary without probes, a target of the wrong form.
func TestUSDTMissing(t *testing.T) {
	requireKernel(t)
	bins := buildProbeTargets(t)
	requireSDT(t, bins)
	checkNoLeak(t)
	obj := openAttachTracing(t, 0)
	prog := loadProgram(t, obj, "usdt_hit")
	_, err := prog.AttachWith(AttachOptions{Target: bins.pie() + ":rawload:nosuch"})
	if !errors.Is(err, elfsym.ErrNotFound) || !strings.Contains(err.Error(), "rawload:hit") {
		t.Errorf("missing probe: %v", err)
	}
	_, err = prog.AttachWith(AttachOptions{Target: "/bin/sh:a:b"})
	if !errors.Is(err, elfsym.ErrNotFound) {
		t.Errorf("a binary without probes: %v", err)
	}
	if _, err = prog.AttachWith(AttachOptions{Target: bins.pie() + ":hit"}); err == nil {
		t.Error("a target without a provider was accepted")
	}
	if _, err = prog.Attach(); !errors.Is(err, ErrAttachTargetMissing) {
		t.Errorf("no target: %v", err)
	}
}

// TestSpecIDAllocator hands out ids round robin, refuses more than the
// map holds, and forgets a map whose ids are all free.
func TestSpecIDAllocator(t *testing.T) {
	a := &specIDAllocator{maps: map[*Map]*specIDs{}}
	m := &Map{}
	ids, err := a.alloc(m, 3, 4)
	must(t, err)
	if len(ids) != 3 || ids[0] != 0 || ids[2] != 2 {
		t.Fatalf("ids %v", ids)
	}
	if _, err := a.alloc(m, 2, 4); err == nil {
		t.Fatal("5 ids out of 4")
	}
	a.free(m, ids[:1])
	more, err := a.alloc(m, 2, 4)
	must(t, err)
	// Id 3 first, then around to the freed 0.
	if more[0] != 3 || more[1] != 0 {
		t.Errorf("after freeing 0: %v, want [3 0]", more)
	}
	a.free(m, append(ids[1:], more...))
	if len(a.maps) != 0 {
		t.Errorf("a map with no ids in use is still tracked")
	}
}

// TestUSDTLayoutV1 attaches testdata/usdt.o, whose maps have the layout
// of libbpf before 1.7 (16-byte argument specs) and rawload's earlier
// names (usdt_specs): the specs are written in that layout, under the id
// the cookie carries.
func TestUSDTLayoutV1(t *testing.T) {
	requireKernel(t)
	bins := buildProbeTargets(t)
	requireSDT(t, bins)
	warmPoller(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("usdt.o"), nil)
	must(t, obj.Load(context.Background()))
	prog := obj.Program("usdt_probe")
	bin := bins.pie()
	l, err := prog.AttachWith(AttachOptions{Target: bin + ":rawload:hit", Cookie: 77})
	must(t, err)
	defer l.Close()
	runProbed(t, bin, 3)
	if got := readVarU64(t, obj, "usdt_calls"); got != 3 {
		t.Errorf("usdt_calls = %d, want 3", got)
	}
	specs := obj.Map("usdt_specs")
	value := make([]byte, 208)
	must(t, specs.Lookup(u32(0), value))
	le := binary.LittleEndian
	if cnt, cookie := le.Uint16(value[200:]), le.Uint64(value[192:]); cnt != 5 || cookie != 77 {
		t.Errorf("spec 0: %d arguments, cookie %d; want 5 and 77", cnt, cookie)
	}
	// Argument 2 is the constant 5: arg_type 0 (a u32 at 8), val_off 5.
	if typ, val := le.Uint32(value[2*16+8:]), le.Uint64(value[2*16:]); typ != 0 || val != 5 {
		t.Errorf("argument 2: type %d, value %d; want a constant 5", typ, val)
	}
}
