package bpf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestKprobe attaches kprobe, kretprobe, ksyscall and kretsyscall
// programs. On a kernel without kprobes (CONFIG_KPROBES unset, as on this
// project's machines) each attach must say so, with ErrNoKprobes (an
// ErrHookUnavailable) and the errno of what was missing; the firing part
// then skips. Where kprobes exist, each program must count exactly the
// unlinkat or getpid calls of this thread.
func TestKprobe(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	tid := lockThread(t)
	obj := openAttachTracing(t, tid)
	progs := []struct {
		name, counter string
		fire          func(t *testing.T, n int)
	}{
		{"kprobe_unlinkat", "kprobe_hits", unlinkFiles},
		{"kretprobe_unlinkat", "kretprobe_hits", unlinkFiles},
		{"ksyscall_getpid", "ksyscall_hits", getpids},
		{"kretsyscall_getpid", "kretsyscall_hits", getpids},
	}
	var links []*Link
	defer func() {
		for _, l := range links {
			l.Close()
		}
	}()
	for _, pr := range progs {
		p := loadProgram(t, obj, pr.name)
		l, err := p.AttachWith(AttachOptions{Cookie: 7})
		if err != nil {
			if !errors.Is(err, ErrNoKprobes) || !errors.Is(err, ErrHookUnavailable) {
				t.Fatalf("%s: %v, want ErrNoKprobes", pr.name, err)
			}
			msg := err.Error()
			for _, want := range []string{"program " + pr.name + ": ", "no kprobe PMU (/sys/bus/event_source/devices/kprobe)", "kprobe_events", "kprobes are not configured (CONFIG_KPROBES)"} {
				if !strings.Contains(msg, want) {
					t.Errorf("%s: %q does not say %q", pr.name, msg, want)
				}
			}
			if !errors.Is(err, unix.ENOENT) {
				t.Errorf("%s: %v: the errno of the missing kprobe_events is not reachable", pr.name, err)
			}
			continue
		}
		links = append(links, l)
	}
	if len(links) == 0 {
		t.Skip("this kernel has no kprobes (CONFIG_KPROBES unset): the refusal was checked, the firing is skipped")
	}
	if len(links) != len(progs) {
		t.Fatalf("%d of %d kprobe programs attached", len(links), len(progs))
	}
	const n = 6
	for _, pr := range progs {
		before := readVarU64(t, obj, pr.counter)
		pr.fire(t, n)
		if got := readVarU64(t, obj, pr.counter) - before; got != n {
			t.Errorf("%s counted %d of %d calls", pr.name, got, n)
		}
	}
	if got := readVarU64(t, obj, "kprobe_cookie"); got != 7 {
		t.Errorf("kprobe cookie %d, want 7", got)
	}
}

// unlinkFiles removes n files, from this thread.
func unlinkFiles(t *testing.T, n int) {
	dir := t.TempDir()
	for i := range n {
		path := filepath.Join(dir, fmt.Sprint(i))
		must(t, os.WriteFile(path, nil, 0o600))
		must(t, unix.Unlink(path))
	}
}

func getpids(_ *testing.T, n int) {
	for range n {
		rawGetpid()
	}
}

// TestKprobeMulti attaches a kprobe.multi program to the kernel functions
// its glob pattern matches. This kernel has no kprobe_multi links
// (CONFIG_FPROBE unset): the refusal keeps EOPNOTSUPP and says what is
// missing; where they exist, the program counts the unlinks.
func TestKprobeMulti(t *testing.T) {
	requireKernel(t)
	requireTracefs(t)
	checkNoLeak(t)
	tid := lockThread(t)
	obj := openAttachTracing(t, tid)
	p := loadProgram(t, obj, "kprobe_multi_unlinkat")
	l, err := p.Attach()
	if err != nil {
		if !errors.Is(err, unix.EOPNOTSUPP) || !errors.Is(err, ErrHookUnavailable) || !strings.Contains(err.Error(), "CONFIG_FPROBE") {
			t.Fatalf("kprobe.multi: %v, want EOPNOTSUPP explained", err)
		}
		t.Skipf("this kernel has no kprobe_multi links: %v", err)
	}
	defer l.Close()
	unlinkFiles(t, 3)
	if got := readVarU64(t, obj, "kprobe_multi_hits"); got != 3 {
		t.Errorf("kprobe_multi_hits = %d, want 3", got)
	}
}

// TestKprobeTargets reads kprobe targets and finds the kernel's functions
// without attaching.
func TestKprobeTargets(t *testing.T) {
	for _, c := range []struct {
		in  string
		fn  string
		off uint64
		ok  bool
	}{
		{"do_unlinkat", "do_unlinkat", 0, true},
		{"do_unlinkat+0x10", "do_unlinkat", 16, true},
		{"foo.isra.0+4", "foo.isra.0", 4, true},
		{"do_unlinkat+x", "", 0, false},
		{"a b", "", 0, false},
		{"p:evil\nx", "", 0, false},
		{"", "", 0, false},
	} {
		fn, off, err := splitFuncOffset(c.in)
		if (err == nil) != c.ok || fn != c.fn || off != c.off {
			t.Errorf("splitFuncOffset(%q) = %q, %d, %v", c.in, fn, off, err)
		}
	}

	requireKernel(t)
	checkNoLeak(t)
	obj := openAttachTracing(t, 0)
	p := obj.Program("ksyscall_getpid")
	fn, err := syscallFunction(p, "getpid")
	must(t, err)
	if fn != "__x64_sys_getpid" && fn != "sys_getpid" && !strings.HasSuffix(fn, "_sys_getpid") {
		t.Errorf("getpid is %s", fn)
	}
	if _, err := syscallFunction(p, "no_such_syscall"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing syscall: %v", err)
	}
	if dir, err := tracefs(); err == nil {
		if _, err := os.Stat(filepath.Join(dir, "available_filter_functions")); err == nil {
			syms, err := matchKernelFunctions("do_unlinka*")
			must(t, err)
			if len(syms) == 0 || syms[0] != "do_unlinkat" {
				t.Errorf("do_unlinka* matched %v", syms)
			}
		}
	}
	if _, err := matchKernelFunctions("rawload_no_such_function_*"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a pattern matching nothing: %v", err)
	}
}
