package bpf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/syscall"
)

func init() {
	registerAttacher(attachKprobe, "kprobe", "kretprobe", "ksyscall", "kretsyscall")
	registerAttacher(attachKprobeMulti, "kprobe.multi", "kretprobe.multi", "kprobe.session")
}

// ErrNoKprobes is returned when attaching a kprobe on a kernel built
// without them: no kprobe PMU and no kprobe_events. It is an
// ErrHookUnavailable.
var ErrNoKprobes = fmt.Errorf("%w: kprobes are not configured (CONFIG_KPROBES)", ErrHookUnavailable)

// kprobePMUDir is the kprobe PMU of sysfs (Linux 4.17).
const kprobePMUDir = "/sys/bus/event_source/devices/kprobe"

// attachKprobe attaches a kprobe, kretprobe, ksyscall or kretsyscall
// program to the kernel function the section or Target names (FUNC or
// FUNC+OFFSET; for ksyscall, the syscall's name): a perf event of the
// kprobe PMU (perf_event_open with the function's name in config1), or a
// trace event made in tracefs's kprobe_events where the kernel has no PMU,
// and a BPF link on it.
func attachKprobe(p *Program, progFD int, opts *AttachOptions) (*Link, error) {
	conv := p.spec.Kind.Convention
	ret := conv == "kretprobe" || conv == "kretsyscall"
	target := p.spec.Kind.AttachTo
	if opts.Target != "" {
		target = opts.Target
	}
	if target == "" {
		return nil, targetMissing(p, "a kernel function ("+conv+"/FUNCTION, AttachOptions.Target)")
	}
	fn, offset, err := splitFuncOffset(target)
	if err != nil {
		return nil, err
	}
	pmu, err := kprobeSupport()
	if err != nil {
		return nil, err
	}
	if conv == "ksyscall" || conv == "kretsyscall" {
		if offset != 0 {
			return nil, fmt.Errorf("%s %q: a syscall takes no offset", conv, target)
		}
		if fn, err = syscallFunction(p, fn); err != nil {
			return nil, err
		}
	}
	kind := "kprobe"
	if ret {
		kind = "kretprobe"
	}
	desc := fn
	if offset != 0 {
		desc = fmt.Sprintf("%s+%#x", fn, offset)
	}
	cookie := opts.Cookie
	open := func(progFD int) (attachment, error) {
		var att attachment
		var err error
		if pmu.typ != 0 {
			att, err = perfAttachment(progFD, cookie, func() (int, error) {
				return openKprobePMU(pmu, fn, offset, ret)
			})
		} else {
			att, err = legacyProbeAttachment(progFD, cookie, "kprobe_events", kprobeEventKind(ret), desc, -1)
		}
		if err != nil {
			if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EINVAL) {
				if has, kerr := p.obj.env.KallsymsHas(fn); kerr == nil && !has {
					err = fmt.Errorf("no kernel function %s in /proc/kallsyms: %w", fn, err)
				}
			}
			return attachment{}, fmt.Errorf("attach %s to %s: %w", kind, desc, err)
		}
		return att, nil
	}
	return attachWith(kind, desc, progFD, open)
}

func kprobeEventKind(ret bool) string {
	if ret {
		return "r"
	}
	return "p"
}

// dynamicPMU is a kprobe or uprobe PMU: its perf type and the config bit
// that makes a probe a return probe; typ 0 when there is none.
type dynamicPMU struct {
	typ       uint32
	retBit    uint
	refCtrBit uint // uprobe's ref_ctr_offset shift; 0 where absent
}

// readPMU reads a dynamic PMU from sysfs; typ is 0 without one.
func readPMU(name string) (dynamicPMU, error) {
	typ, found, err := pmuType(name)
	if err != nil || !found {
		return dynamicPMU{}, err
	}
	pmu := dynamicPMU{typ: typ}
	if pmu.retBit, err = pmuConfigBit(name, "retprobe"); err != nil {
		return dynamicPMU{}, fmt.Errorf("%s PMU: %w", name, err)
	}
	if bit, err := pmuConfigBit(name, "ref_ctr_offset"); err == nil {
		pmu.refCtrBit = bit
	}
	return pmu, nil
}

// kprobeSupport finds how this kernel makes kprobes: its PMU, or else
// tracefs's kprobe_events; an error wrapping ErrNoKprobes when neither.
func kprobeSupport() (dynamicPMU, error) {
	pmu, err := readPMU("kprobe")
	if err != nil || pmu.typ != 0 {
		return pmu, err
	}
	dir, err := tracefs()
	if err != nil {
		return dynamicPMU{}, fmt.Errorf("this kernel has no kprobe PMU (%s), and for kprobe_events: %w: %w", kprobePMUDir, err, ErrNoKprobes)
	}
	events := filepath.Join(dir, "kprobe_events")
	if _, err := os.Stat(events); err != nil {
		return dynamicPMU{}, fmt.Errorf("this kernel has no kprobe PMU (%s) and no kprobe_events (%s): %w: %w", kprobePMUDir, events, ErrNoKprobes, err)
	}
	return dynamicPMU{}, nil
}

// openKprobePMU opens a kprobe through the kprobe PMU: config1 points at
// the function's name, config2 is the offset into it.
func openKprobePMU(pmu dynamicPMU, fn string, offset uint64, ret bool) (int, error) {
	attr := syscall.PerfEventAttr{Type: pmu.typ, Config2: offset}
	if ret {
		attr.Config |= 1 << pmu.retBit
	}
	fd, err := syscall.PerfProbeOpen(&attr, fn, -1, 0, syscall.PerfFlagFDCloexec)
	if err != nil {
		return -1, fmt.Errorf("perf_event_open of the kprobe PMU: %w", err)
	}
	return fd, nil
}

// legacyProbeAttachment makes a probe in tracefs's kprobe_events or
// uprobe_events, opens its trace event and attaches the program with
// PERF_EVENT_IOC_SET_BPF: kernels without the probe PMUs (before 4.17)
// have no BPF links on perf events either. Closing the attachment closes
// the event, then deletes the probe.
func legacyProbeAttachment(progFD int, cookie uint64, file, kind, target string, pid int) (attachment, error) {
	if cookie != 0 {
		return attachment{}, fmt.Errorf("a BPF cookie needs the %s PMU and BPF links on perf events (Linux 5.15); this kernel offers only %s",
			strings.TrimSuffix(file, "_events"), file)
	}
	ev, err := newProbeEvent(file, kind, target)
	if err != nil {
		return attachment{}, err
	}
	perfFD, err := openTracepoint(ev.id, pid)
	if err == nil {
		err = syscall.PerfEventSetBPF(perfFD, progFD)
		if err == nil {
			err = syscall.PerfEventEnable(perfFD)
		}
		if err != nil {
			unix.Close(perfFD)
		}
	}
	if err != nil {
		ev.remove()
		return attachment{}, fmt.Errorf("trace event %s of %s: %w", ev.name, file, err)
	}
	return attachment{fd: -1, detach: func() error {
		// The probe cannot go while its event is open.
		err := unix.Close(perfFD)
		return errors.Join(err, ev.remove())
	}}, nil
}

// splitFuncOffset reads "FUNC" or "FUNC+OFFSET" (decimal or 0x hex).
func splitFuncOffset(target string) (string, uint64, error) {
	fn, offText, hasOff := strings.Cut(target, "+")
	if err := traceName("function", fn); err != nil {
		return "", 0, err
	}
	if !hasOff {
		return fn, 0, nil
	}
	off, err := strconv.ParseUint(offText, 0, 64)
	if err != nil {
		return "", 0, fmt.Errorf("function %q: offset %q is not a number", target, offText)
	}
	return fn, off, nil
}

// syscallPrefixes are the wrappers through which kernels of each
// architecture enter a syscall (__<prefix>_sys_<name>), libbpf's
// arch_specific_syscall_pfx.
var syscallPrefixes = map[string]string{
	"amd64": "x64", "386": "ia32", "arm64": "arm64", "arm": "arm", "s390x": "s390x",
	"riscv64": "riscv", "ppc64": "powerpc", "ppc64le": "powerpc",
	"mips": "mips", "mipsle": "mips", "mips64": "mips", "mips64le": "mips", "loong64": "loongarch",
}

// syscallFunction names the kernel function of a syscall: its
// architecture's wrapper where the kernel has wrappers, else sys_NAME.
func syscallFunction(p *Program, name string) (string, error) {
	env := p.obj.env
	if prefix, ok := syscallPrefixes[runtime.GOARCH]; ok {
		wrapped := "__" + prefix + "_sys_" + name
		has, err := env.KallsymsHas(wrapped)
		if err != nil {
			return "", fmt.Errorf("syscall %s: looking up %s in /proc/kallsyms: %w", name, wrapped, err)
		}
		if has {
			return wrapped, nil
		}
	}
	plain := "sys_" + name
	has, err := env.KallsymsHas(plain)
	if err != nil {
		return "", fmt.Errorf("syscall %s: looking up %s in /proc/kallsyms: %w", name, plain, err)
	}
	if !has {
		return "", fmt.Errorf("no syscall %s: /proc/kallsyms has neither its wrapper nor %s: %w", name, plain, fs.ErrNotExist)
	}
	return plain, nil
}

// attachKprobeMulti attaches a kprobe.multi, kretprobe.multi or
// kprobe.session program to every kernel function matching the glob
// pattern of its section or Target (kprobe.multi/do_unlink*), with one
// BPF_LINK_CREATE (kprobe_multi, Linux 5.18, CONFIG_FPROBE). Names come
// from tracefs's available_filter_functions, the functions that can be
// probed, or /proc/kallsyms where that is missing.
func attachKprobeMulti(p *Program, progFD int, opts *AttachOptions) (*Link, error) {
	conv := p.spec.Kind.Convention
	pattern := p.spec.Kind.AttachTo
	if opts.Target != "" {
		pattern = opts.Target
	}
	if pattern == "" {
		return nil, targetMissing(p, "a kernel function pattern ("+conv+"/PATTERN, AttachOptions.Target)")
	}
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, fmt.Errorf("function pattern %q: %w", pattern, err)
	}
	syms, err := matchKernelFunctions(pattern)
	if err != nil {
		return nil, err
	}
	o := syscall.KprobeMultiOptions{AttachType: p.spec.Kind.ExpectedAttachType, Symbols: syms}
	if o.AttachType == 0 {
		o.AttachType = uapi.AttachTraceKprobeMulti
	}
	if conv == "kretprobe.multi" {
		o.Flags = uapi.KprobeMultiReturn
	}
	if opts.Cookie != 0 {
		o.Cookies = make([]uint64, len(syms))
		for i := range o.Cookies {
			o.Cookies[i] = opts.Cookie
		}
	}
	open := func(progFD int) (attachment, error) {
		fd, err := syscall.LinkCreateKprobeMulti(progFD, &o)
		if err != nil {
			if errors.Is(err, unix.EOPNOTSUPP) {
				what := "kprobe_multi links: Linux 5.18 with CONFIG_FPROBE"
				if _, kerr := kprobeSupport(); errors.Is(kerr, ErrNoKprobes) {
					what += "; nor has it kprobes (CONFIG_KPROBES)"
				}
				err = hookUnavailable(what, err)
			}
			return attachment{}, fmt.Errorf("attach %s to %d functions matching %q: %w", conv, len(syms), pattern, err)
		}
		return attachment{fd: fd}, nil
	}
	return attachWith("kprobe_multi", pattern, progFD, open)
}

// matchKernelFunctions lists the kernel functions that match pattern.
func matchKernelFunctions(pattern string) ([]string, error) {
	source := "/proc/kallsyms"
	var text []byte
	dir, err := tracefs()
	if err == nil {
		source = filepath.Join(dir, "available_filter_functions")
		text, err = os.ReadFile(source)
	}
	if err != nil {
		source = "/proc/kallsyms"
		if text, err = os.ReadFile(source); err != nil {
			return nil, fmt.Errorf("listing kernel functions: %w", err)
		}
	}
	seen := map[string]bool{}
	var syms []string
	for line := range strings.Lines(string(text)) {
		f := strings.Fields(line)
		var name string
		switch {
		case source == "/proc/kallsyms" && len(f) >= 3:
			if t := f[1]; t != "t" && t != "T" {
				continue
			}
			name = f[2]
		case source != "/proc/kallsyms" && len(f) >= 1:
			name = f[0] // "name [module]"
		default:
			continue
		}
		if seen[name] {
			continue
		}
		if ok, _ := path.Match(pattern, name); ok {
			seen[name] = true
			syms = append(syms, name)
		}
	}
	if len(syms) == 0 {
		return nil, fmt.Errorf("no kernel function matches %q in %s: %w", pattern, source, fs.ErrNotExist)
	}
	return syms, nil
}
