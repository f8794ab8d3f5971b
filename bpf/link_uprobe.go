package bpf

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/bpf/internal/elfsym"
	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/syscall"
)

func init() {
	registerAttacher(attachUprobe, "uprobe", "uretprobe", "uprobe.s", "uretprobe.s")
	registerAttacher(attachUprobeMulti, "uprobe.multi", "uretprobe.multi", "uprobe.multi.s", "uretprobe.multi.s",
		"uprobe.session", "uprobe.session.s")
}

// ErrNoUprobes is returned when attaching a uprobe on a kernel built
// without them: no uprobe PMU and no uprobe_events. It is an
// ErrHookUnavailable.
var ErrNoUprobes = fmt.Errorf("%w: uprobes are not configured (CONFIG_UPROBE_EVENTS)", ErrHookUnavailable)

// needsUprobe is what a uprobe needs that its section may not say.
const needsUprobe = "a binary and a function (BINARY:FUNCTION[+OFFSET] in AttachOptions.Target)"

// uprobePMUDir is the uprobe PMU of sysfs (Linux 4.17).
const uprobePMUDir = "/sys/bus/event_source/devices/uprobe"

// legacyUprobes makes uprobes go through tracefs's uprobe_events even
// where the PMU exists; tests set it to cover that path.
var legacyUprobes bool

// attachUprobe attaches a uprobe or uretprobe program (sleepable or not)
// to a function of a binary or shared object: the section or Target
// names it "BINARY:FUNCTION", "BINARY:FUNCTION+OFFSET" or "BINARY:OFFSET"
// (a file offset), BINARY being a path, a program found in PATH, or a
// library found where the dynamic linker looks. The function's place in
// the file comes from the ELF symbols (.symtab, else .dynsym) through the
// segment that loads it, so PIE executables and shared objects work.
// AttachOptions.PID narrows the probe to one process.
func attachUprobe(p *Program, progFD int, opts *AttachOptions) (*Link, error) {
	conv := p.spec.Kind.Convention
	ret := strings.HasPrefix(conv, "uretprobe")
	target := p.spec.Kind.AttachTo
	if opts.Target != "" {
		target = opts.Target
	}
	if target == "" {
		return nil, targetMissing(p, needsUprobe)
	}
	site, err := resolveUprobeTarget(target)
	if err != nil {
		return nil, err
	}
	pmu, err := uprobeSupport()
	if err != nil {
		return nil, err
	}
	kind := "uprobe"
	if ret {
		kind = "uretprobe"
	}
	pid, cookie := probePID(opts.PID), opts.Cookie
	open := func(progFD int) (attachment, error) {
		att, err := openUprobeAttachment(pmu, progFD, site.path, site.offset, 0, ret, pid, cookie)
		if err != nil {
			return attachment{}, fmt.Errorf("attach %s to %s: %w", kind, site, err)
		}
		return att, nil
	}
	return attachWith(kind, site.String(), progFD, open)
}

// probePID is the pid perf_event_open takes for AttachOptions.PID.
func probePID(pid int) int {
	if pid <= 0 {
		return -1
	}
	return pid
}

// uprobeSite is a resolved uprobe target: a file and an offset in it.
type uprobeSite struct {
	path   string
	fn     string // "" for a raw offset
	add    uint64 // the +OFFSET into fn
	offset uint64 // the file offset of the probe
}

func (s uprobeSite) String() string {
	switch {
	case s.fn == "":
		return fmt.Sprintf("%s:%#x", s.path, s.offset)
	case s.add != 0:
		return fmt.Sprintf("%s:%s+%#x", s.path, s.fn, s.add)
	}
	return s.path + ":" + s.fn
}

// resolveUprobeTarget reads "BINARY:FUNCTION[+OFFSET]" or "BINARY:OFFSET"
// and finds the file offset it means.
func resolveUprobeTarget(target string) (uprobeSite, error) {
	i := strings.LastIndexByte(target, ':')
	if i <= 0 || i == len(target)-1 {
		return uprobeSite{}, fmt.Errorf("uprobe target %q is not BINARY:FUNCTION[+OFFSET] or BINARY:OFFSET", target)
	}
	bin, fnText := target[:i], target[i+1:]
	path, err := resolveBinary(bin)
	if err != nil {
		return uprobeSite{}, err
	}
	site := uprobeSite{path: path}
	if off, err := strconv.ParseUint(fnText, 0, 64); err == nil {
		site.offset = off
		return site, nil
	}
	fn, addText, hasAdd := strings.Cut(fnText, "+")
	if hasAdd {
		if site.add, err = strconv.ParseUint(addText, 0, 64); err != nil {
			return uprobeSite{}, fmt.Errorf("uprobe target %q: offset %q is not a number", target, addText)
		}
	}
	site.fn = fn
	f, err := elfsym.Open(path)
	if err != nil {
		return uprobeSite{}, fmt.Errorf("uprobe target %q: %w", target, err)
	}
	defer f.Close()
	sym, err := f.FuncOffset(fn)
	if err != nil {
		return uprobeSite{}, fmt.Errorf("uprobe target %q: %w", target, err)
	}
	site.offset = sym.Offset + site.add
	return site, nil
}

// libraryDirs are where a library named without a directory is looked
// for after LD_LIBRARY_PATH, as the dynamic linker's defaults.
var libraryDirs = []string{"/lib64", "/usr/lib64", "/lib", "/usr/lib"}

// resolveBinary finds a binary: a path as it is (made absolute, so that a
// reload attaches the same file whatever the working directory), a
// library name (with ".so") where the dynamic linker looks, another name
// in PATH.
func resolveBinary(bin string) (string, error) {
	if strings.ContainsRune(bin, '/') {
		abs, err := filepath.Abs(bin)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(abs); err != nil {
			return "", fmt.Errorf("binary %s: %w", bin, err)
		}
		return abs, nil
	}
	if strings.Contains(bin, ".so") {
		dirs := filepath.SplitList(os.Getenv("LD_LIBRARY_PATH"))
		if triplet := multiarchTriplet(); triplet != "" {
			dirs = append(dirs, "/lib/"+triplet, "/usr/lib/"+triplet)
		}
		dirs = append(dirs, libraryDirs...)
		for _, d := range dirs {
			if d == "" {
				continue
			}
			candidate := filepath.Join(d, bin)
			if st, err := os.Stat(candidate); err == nil && st.Mode().IsRegular() {
				return filepath.Abs(candidate)
			}
		}
		return "", fmt.Errorf("library %s is in none of LD_LIBRARY_PATH and %s: %w", bin, strings.Join(dirs, ", "), os.ErrNotExist)
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return "", fmt.Errorf("binary %s: %w", bin, err)
	}
	return filepath.Abs(path)
}

// multiarchTriplet is Debian's library directory name for this machine.
func multiarchTriplet() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64-linux-gnu"
	case "arm64":
		return "aarch64-linux-gnu"
	case "386":
		return "i386-linux-gnu"
	case "s390x":
		return "s390x-linux-gnu"
	case "ppc64le":
		return "powerpc64le-linux-gnu"
	case "riscv64":
		return "riscv64-linux-gnu"
	}
	return ""
}

// uprobeSupport finds how this kernel makes uprobes: its PMU, or else
// tracefs's uprobe_events (dynamicPMU.typ 0).
func uprobeSupport() (dynamicPMU, error) {
	pmu, err := readPMU("uprobe")
	if err != nil || (pmu.typ != 0 && !legacyUprobes) {
		return pmu, err
	}
	dir, err := tracefs()
	if err != nil {
		return dynamicPMU{}, fmt.Errorf("this kernel has no uprobe PMU (%s), and for uprobe_events: %w: %w", uprobePMUDir, err, ErrNoUprobes)
	}
	events := filepath.Join(dir, "uprobe_events")
	if _, err := os.Stat(events); err != nil {
		return dynamicPMU{}, fmt.Errorf("this kernel has no uprobe PMU (%s) and no uprobe_events (%s): %w: %w", uprobePMUDir, events, ErrNoUprobes, err)
	}
	return dynamicPMU{}, nil
}

// openUprobeAttachment opens one uprobe (through the PMU, or
// uprobe_events without one) and attaches the program to it. refCtr is
// the file offset of a USDT semaphore the kernel counts up while the
// probe is set, 0 for none.
func openUprobeAttachment(pmu dynamicPMU, progFD int, path string, offset, refCtr uint64, ret bool, pid int, cookie uint64) (attachment, error) {
	if pmu.typ == 0 {
		target := fmt.Sprintf("%s:%#x", path, offset)
		if refCtr != 0 {
			target += fmt.Sprintf("(%#x)", refCtr)
		}
		return legacyProbeAttachment(progFD, cookie, "uprobe_events", kprobeEventKind(ret), target, pid)
	}
	return perfAttachment(progFD, cookie, func() (int, error) {
		attr := syscall.PerfEventAttr{Type: pmu.typ, Config2: offset}
		if ret {
			attr.Config |= 1 << pmu.retBit
		}
		if refCtr != 0 {
			if pmu.refCtrBit == 0 {
				return -1, fmt.Errorf("the uprobe PMU has no ref_ctr_offset (%s/format/ref_ctr_offset, Linux 4.20): a USDT semaphore cannot be counted", uprobePMUDir)
			}
			if refCtr>>(64-pmu.refCtrBit) != 0 {
				return -1, fmt.Errorf("semaphore offset %#x does not fit the uprobe PMU's ref_ctr_offset", refCtr)
			}
			attr.Config |= refCtr << pmu.refCtrBit
		}
		cpu := 0
		if pid != -1 {
			cpu = -1
		}
		fd, err := syscall.PerfProbeOpen(&attr, path, pid, cpu, syscall.PerfFlagFDCloexec)
		if err != nil {
			if errors.Is(err, unix.ESRCH) && pid != -1 {
				return -1, fmt.Errorf("perf_event_open of the uprobe PMU: no process %d: %w", pid, err)
			}
			return -1, fmt.Errorf("perf_event_open of the uprobe PMU: %w", err)
		}
		return fd, nil
	})
}

// attachUprobeMulti attaches an uprobe.multi, uretprobe.multi or
// uprobe.session program to every function of a binary matching a glob
// pattern ("BINARY:PATTERN" in the section or Target), with one
// BPF_LINK_CREATE (uprobe_multi, Linux 6.6).
func attachUprobeMulti(p *Program, progFD int, opts *AttachOptions) (*Link, error) {
	conv := p.spec.Kind.Convention
	target := p.spec.Kind.AttachTo
	if opts.Target != "" {
		target = opts.Target
	}
	if target == "" {
		return nil, targetMissing(p, "a binary and a function pattern (BINARY:PATTERN in AttachOptions.Target)")
	}
	i := strings.LastIndexByte(target, ':')
	if i <= 0 || i == len(target)-1 {
		return nil, fmt.Errorf("%s target %q is not BINARY:PATTERN", conv, target)
	}
	path, err := resolveBinary(target[:i])
	if err != nil {
		return nil, err
	}
	pattern := target[i+1:]
	f, err := elfsym.Open(path)
	if err != nil {
		return nil, err
	}
	funcs, err := f.MatchFuncs(pattern)
	f.Close()
	if err != nil {
		return nil, err
	}
	o := syscall.UprobeMultiOptions{AttachType: p.spec.Kind.ExpectedAttachType, Path: path, PID: max(opts.PID, 0)}
	if o.AttachType == 0 {
		o.AttachType = uapi.AttachTraceUprobeMulti
	}
	if strings.HasPrefix(conv, "uretprobe") {
		o.Flags = uapi.UprobeMultiReturn
	}
	for _, fn := range funcs {
		o.Offsets = append(o.Offsets, fn.Offset)
		if opts.Cookie != 0 {
			o.Cookies = append(o.Cookies, opts.Cookie)
		}
	}
	desc := path + ":" + pattern
	open := func(progFD int) (attachment, error) {
		fd, err := syscall.LinkCreateUprobeMulti(progFD, &o)
		if err != nil {
			if errors.Is(err, unix.EOPNOTSUPP) {
				err = hookUnavailable("uprobe_multi links: Linux 6.6 with CONFIG_UPROBES", err)
			}
			return attachment{}, fmt.Errorf("attach %s to %d functions of %s: %w", conv, len(o.Offsets), desc, err)
		}
		return attachment{fd: fd}, nil
	}
	return attachWith("uprobe_multi", desc, progFD, open)
}
