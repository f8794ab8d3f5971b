package kernel

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"
)

var (
	// ErrKconfigValue is returned when a kconfig value cannot be stored in
	// its extern: the type does not suit the value, the number does not
	// fit, or the type is one libbpf gives no meaning to.
	ErrKconfigValue = errors.New("kconfig value does not fit the extern")
	// ErrKconfigTruncated is returned, with the truncated value, when a
	// string is longer than its char array. libbpf only warns about it.
	ErrKconfigTruncated = errors.New("kconfig string truncated")
)

// KernelConfig is the kernel's configuration, CONFIG_X mapped to the raw
// text of its value ("y", "m", "123", "\"string\""), from ProcConfig,
// else from config-$(uname -r) in BootDir. It is read on the first call
// that succeeds and kept.
func (e *Env) KernelConfig() (map[string]string, error) {
	return e.config.get(e.loadKernelConfig)
}

func (e *Env) loadKernelConfig() (map[string]string, error) {
	procConfig := e.paths.ProcConfig
	f, err := os.Open(procConfig)
	if err == nil {
		defer f.Close()
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", procConfig, err)
		}
		defer gz.Close()
		cfg, err := parseKernelConfig(gz)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", procConfig, err)
		}
		return cfg, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("kernel config: %w", err)
	}

	uts, err := uname()
	if err != nil {
		return nil, err
	}
	bootConfig := filepath.Join(e.paths.BootDir, "config-"+uts.release)
	f, err = os.Open(bootConfig)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("kernel config: neither %s nor %s exists: %w", procConfig, bootConfig, err)
	}
	if err != nil {
		return nil, fmt.Errorf("kernel config: %w", err)
	}
	defer f.Close()
	cfg, err := parseKernelConfig(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", bootConfig, err)
	}
	return cfg, nil
}

// parseKernelConfig reads Kconfig's output as libbpf does: lines that do
// not start with CONFIG_ (comments, "# CONFIG_X is not set") say nothing;
// a CONFIG_ line without "=value" is an error.
func parseKernelConfig(r io.Reader) (map[string]string, error) {
	cfg := make(map[string]string)
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if !strings.HasPrefix(line, "CONFIG_") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || value == "" {
			return nil, fmt.Errorf("line %d: %q: not CONFIG_NAME=value", n, line)
		}
		cfg[name] = value
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// KconfigValue encodes, in native byte order, the value of the __kconfig
// extern name whose BTF type is typ and whose size is size. CONFIG_ names
// come from the kernel's config; LINUX_KERNEL_VERSION,
// LINUX_HAS_SYSCALL_WRAPPER and LINUX_HAS_BPF_COOKIE are derived as libbpf
// derives them. found is false when there is no value: a CONFIG_ option
// the config lacks (or "# ... is not set"), or any other name. The caller
// decides, as libbpf does, that a weak extern then takes zero and a strong
// one is an error.
func (e *Env) KconfigValue(name string, typ btf.Type, size uint32) (value []byte, found bool, err error) {
	// Like libbpf, refuse a type that could never hold a value even when
	// there is no value to store, rather than zeroing it silently.
	if _, _, err := checkKconfigType(name, typ, size); err != nil {
		return nil, false, err
	}

	var derived uint64
	switch name {
	case "LINUX_KERNEL_VERSION":
		v, err := e.KernelVersion()
		if err != nil {
			return nil, false, fmt.Errorf("extern %s: %w", name, err)
		}
		derived = uint64(v)
	case "LINUX_HAS_SYSCALL_WRAPPER":
		has, err := e.HaveSyscallWrapper()
		if err != nil {
			return nil, false, fmt.Errorf("extern %s: %w", name, err)
		}
		derived = boolValue(has)
	case "LINUX_HAS_BPF_COOKIE":
		v, err := e.KernelVersion()
		if err != nil {
			return nil, false, fmt.Errorf("extern %s: %w", name, err)
		}
		// BPF cookies arrived in 5.15 for every attach type at once.
		derived = boolValue(v >= kernelVersion(5, 15, 0))
	default:
		if strings.HasPrefix(name, "LINUX_") {
			// A value libbpf may derive one day: weak, it is zero.
			return nil, false, nil
		}
		if !strings.HasPrefix(name, "CONFIG_") {
			return nil, false, fmt.Errorf("extern %s: a __kconfig name starts with CONFIG_ or LINUX_: %w", name, ErrKconfigValue)
		}
		cfg, err := e.KernelConfig()
		if err != nil {
			return nil, false, fmt.Errorf("extern %s: %w", name, err)
		}
		raw, ok := cfg[name]
		if !ok {
			return nil, false, nil
		}
		value, err := encodeKconfig(name, raw, typ, size)
		return value, true, err
	}
	value, err = encodeKconfigNumber(name, derived, typ, size, true)
	return value, true, err
}

// kconfigKind is what libbpf's find_kcfg_type makes of an extern's type.
type kconfigKind int

const (
	kconfigUnknown kconfigKind = iota
	kconfigBool
	kconfigTristate // enum libbpf_tristate: n=0, y=1, m=2
	kconfigChar
	kconfigInt
	kconfigCharArray
)

// Values of enum libbpf_tristate.
const (
	tristateNo     = 0
	tristateYes    = 1
	tristateModule = 2
)

// classifyKconfig mirrors libbpf's find_kcfg_type, so that an object
// means the same under both loaders: any one-byte integer is a char,
// bool must be one byte, other integers 2, 4 or 8 bytes.
func classifyKconfig(typ btf.Type) (kind kconfigKind, signed bool) {
	switch t := btf.UnderlyingType(typ).(type) {
	case *btf.Int:
		if t.Encoding&btf.Bool != 0 {
			if t.Size == 1 {
				return kconfigBool, false
			}
			return kconfigUnknown, false
		}
		signed = t.Encoding&btf.Signed != 0
		switch t.Size {
		case 1:
			return kconfigChar, signed
		case 2, 4, 8:
			return kconfigInt, signed
		}
	case *btf.Enum:
		if t.Name == "libbpf_tristate" && (t.Size == 4 || t.Size == 8) {
			return kconfigTristate, false
		}
	case *btf.Array:
		if elem, _ := classifyKconfig(t.Type); t.Nelems > 0 && elem == kconfigChar {
			return kconfigCharArray, false
		}
	}
	return kconfigUnknown, false
}

// checkKconfigType refuses types libbpf refuses and a size that is not the
// type's, which would write beyond the extern or leave part of it stale.
func checkKconfigType(name string, typ btf.Type, size uint32) (kconfigKind, bool, error) {
	if v, ok := typ.(*btf.Var); ok {
		typ = v.Type
	}
	kind, signed := classifyKconfig(typ)
	if kind == kconfigUnknown {
		return 0, false, fmt.Errorf("extern %s: type %v is not bool, enum libbpf_tristate, an integer or a char array: %w", name, typ, ErrKconfigValue)
	}
	have, err := btf.Sizeof(typ)
	if err != nil {
		return 0, false, fmt.Errorf("extern %s: size of %v: %w", name, typ, err)
	}
	if uint32(have) != size {
		return 0, false, fmt.Errorf("extern %s: %d bytes, but its type %v has %d: %w", name, size, typ, have, ErrKconfigValue)
	}
	return kind, signed, nil
}

// encodeKconfig stores the raw config text of name in an extern of type
// typ, the way libbpf's bpf_object__process_kconfig_line does.
func encodeKconfig(name, raw string, typ btf.Type, size uint32) ([]byte, error) {
	kind, _, err := checkKconfigType(name, typ, size)
	if err != nil {
		return nil, err
	}
	if raw == "" {
		return nil, fmt.Errorf("extern %s: empty value: %w", name, ErrKconfigValue)
	}
	switch raw[0] {
	case 'y', 'n', 'm':
		return encodeKconfigTristate(name, raw[0], kind, size)
	case '"':
		return encodeKconfigString(name, raw, kind, size)
	}
	n, err := parseKconfigInt(raw)
	if err != nil {
		return nil, fmt.Errorf("extern %s: value %s is not an integer: %w", name, raw, ErrKconfigValue)
	}
	if kind != kconfigInt && kind != kconfigChar {
		return nil, fmt.Errorf("extern %s: value %s needs an integer type, not %v: %w", name, raw, typ, ErrKconfigValue)
	}
	return encodeKconfigNumber(name, n, typ, size, false)
}

func encodeKconfigTristate(name string, c byte, kind kconfigKind, size uint32) ([]byte, error) {
	value := make([]byte, size)
	switch kind {
	case kconfigBool:
		if c == 'm' {
			return nil, fmt.Errorf("extern %s: value m needs a tristate or char type, not bool: %w", name, ErrKconfigValue)
		}
		value[0] = byte(boolValue(c == 'y'))
	case kconfigTristate:
		switch c {
		case 'n':
			putUint(value, tristateNo)
		case 'y':
			putUint(value, tristateYes)
		case 'm':
			putUint(value, tristateModule)
		}
	case kconfigChar:
		value[0] = c
	default:
		return nil, fmt.Errorf("extern %s: value %c needs a bool, tristate or char type: %w", name, c, ErrKconfigValue)
	}
	return value, nil
}

// encodeKconfigString copies a quoted string without its quotes and
// NUL-terminates it. A string that does not fit is truncated and returned
// with ErrKconfigTruncated, so a caller can choose libbpf's leniency.
func encodeKconfigString(name, raw string, kind kconfigKind, size uint32) ([]byte, error) {
	if kind != kconfigCharArray {
		return nil, fmt.Errorf("extern %s: value %s needs a char array type: %w", name, raw, ErrKconfigValue)
	}
	if len(raw) < 2 || raw[len(raw)-1] != '"' {
		return nil, fmt.Errorf("extern %s: value %s is not a quoted string: %w", name, raw, ErrKconfigValue)
	}
	s := raw[1 : len(raw)-1]
	value := make([]byte, size)
	if uint32(len(s)) >= size {
		copy(value, s[:size-1])
		return value, fmt.Errorf("extern %s: value %s of %d bytes cut to %d: %w", name, raw, len(s), size-1, ErrKconfigTruncated)
	}
	copy(value, s)
	return value, nil
}

// encodeKconfigNumber stores n in an integer or char extern, checking that
// it fits as libbpf's is_kcfg_value_in_range does: for a signed type, n is
// the two's complement of a value in range. A bool takes only 0 or 1, and
// only a value libbpf derives itself (allowBool), never a config number.
func encodeKconfigNumber(name string, n uint64, typ btf.Type, size uint32, allowBool bool) ([]byte, error) {
	kind, signed, err := checkKconfigType(name, typ, size)
	if err != nil {
		return nil, err
	}
	switch {
	case kind == kconfigBool && allowBool:
		if n > 1 {
			return nil, fmt.Errorf("extern %s: value %d is not a bool: %w", name, n, ErrKconfigValue)
		}
	case kind == kconfigInt || kind == kconfigChar:
		if bits := size * 8; bits < 64 {
			fits := n>>bits == 0
			if signed {
				fits = n+(1<<(bits-1)) < 1<<bits
			}
			if !fits {
				return nil, fmt.Errorf("extern %s: value %d does not fit in %d bytes (%v): %w", name, int64(n), size, typ, ErrKconfigValue)
			}
		}
	default:
		return nil, fmt.Errorf("extern %s: value %d needs an integer, char or bool type, not %v: %w", name, n, typ, ErrKconfigValue)
	}
	value := make([]byte, size)
	putUint(value, n)
	return value, nil
}

// parseKconfigInt parses a number as strtoull(s, &end, 0) does when libbpf
// insists on end being the end: decimal, 0x hex or 0 octal, and a minus
// sign that wraps around.
func parseKconfigInt(s string) (uint64, error) {
	digits, negative := strings.CutPrefix(s, "-")
	if !negative {
		digits, _ = strings.CutPrefix(s, "+")
	}
	base := 10
	switch {
	case len(digits) > 2 && (digits[:2] == "0x" || digits[:2] == "0X"):
		base, digits = 16, digits[2:]
	case len(digits) > 1 && digits[0] == '0':
		base, digits = 8, digits[1:]
	}
	if strings.ContainsAny(digits, "+-_") {
		return 0, strconv.ErrSyntax
	}
	n, err := strconv.ParseUint(digits, base, 64)
	if negative {
		n = -n
	}
	return n, err
}

// putUint stores n in b, which is 1, 2, 4 or 8 bytes long.
func putUint(b []byte, n uint64) {
	switch len(b) {
	case 1:
		b[0] = byte(n)
	case 2:
		binary.NativeEndian.PutUint16(b, uint16(n))
	case 4:
		binary.NativeEndian.PutUint32(b, uint32(n))
	case 8:
		binary.NativeEndian.PutUint64(b, n)
	}
}

func boolValue(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// kernelVersion is the kernel's KERNEL_VERSION macro: the sublevel is
// capped at 255 so that it cannot spill into the minor number.
func kernelVersion(major, minor, patch uint32) uint32 {
	return major<<16 + minor<<8 + min(patch, 255)
}

// KernelVersion is LINUX_KERNEL_VERSION as libbpf's get_kernel_version
// computes it.
func (e *Env) KernelVersion() (uint32, error) {
	return e.version.get(func() (uint32, error) {
		uts, err := uname()
		if err != nil {
			return 0, err
		}
		// Ubuntu's release string carries its ABI number, not the
		// upstream sublevel; the signature file has the real one. Most
		// kernels have none; failing to read one that is there (EMFILE)
		// must not leave the wrong sublevel cached.
		signature, err := os.ReadFile(e.paths.VersionSignature)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, fmt.Errorf("kernel version: %w", err)
		}
		return parseLinuxKernelVersion(string(signature), uts.version, uts.release)
	})
}

// parseLinuxKernelVersion takes the version from Ubuntu's
// /proc/version_signature ("Ubuntu 5.4.0-42.46-generic 5.4.44"), else from
// a Debian uname version ("#1 SMP Debian 5.10.46-4 (2021-08-03)"), else
// from the uname release ("6.18.44-foo"), in libbpf's order.
func parseLinuxKernelVersion(signature, utsVersion, release string) (uint32, error) {
	if fields := strings.Fields(signature); len(fields) >= 3 {
		if v, ok := parseVersionTriple(fields[2]); ok {
			return v, nil
		}
	}
	if _, debian, ok := strings.Cut(utsVersion, "Debian "); ok {
		if v, ok := parseVersionTriple(debian); ok {
			return v, nil
		}
	}
	if v, ok := parseVersionTriple(release); ok {
		return v, nil
	}
	return 0, fmt.Errorf("kernel release %q is not major.minor.patch", release)
}

// parseVersionTriple reads "a.b.c" at the start of s, as sscanf's
// "%u.%u.%u" does; anything may follow.
func parseVersionTriple(s string) (uint32, bool) {
	var parts [3]uint32
	for i := range parts {
		end := 0
		for end < len(s) && s[end] >= '0' && s[end] <= '9' {
			end++
		}
		n, err := strconv.ParseUint(s[:end], 10, 32)
		if err != nil {
			return 0, false
		}
		parts[i] = uint32(n)
		s = s[end:]
		if i < 2 {
			var ok bool
			if s, ok = strings.CutPrefix(s, "."); !ok {
				return 0, false
			}
		}
	}
	return kernelVersion(parts[0], parts[1], parts[2]), true
}

// syscallWrapperPrefixes are the architectures whose kernels enter a
// syscall through a wrapper __<prefix>_sys_<name> that takes a pt_regs,
// named as libbpf's arch_specific_syscall_pfx names them.
var syscallWrapperPrefixes = map[string]string{
	"amd64":    "x64",
	"386":      "ia32",
	"arm64":    "arm64",
	"arm":      "arm",
	"s390x":    "s390x",
	"riscv64":  "riscv",
	"ppc64":    "powerpc",
	"ppc64le":  "powerpc",
	"mips":     "mips",
	"mipsle":   "mips",
	"mips64":   "mips",
	"mips64le": "mips",
	"loong64":  "loongarch",
}

// HaveSyscallWrapper is LINUX_HAS_SYSCALL_WRAPPER: whether this kernel
// has the wrappers, which depends on its version and configuration
// (ARCH_HAS_SYSCALL_WRAPPER), so it is read off the kernel's own symbols.
// libbpf asks for a kprobe on the symbol; its presence in /proc/kallsyms
// says the same, and says it even where kptr_restrict hides addresses.
// The kernel's BTF is asked first: a function it describes exists, and
// reading /proc/kallsyms (megabytes of text the kernel formats on every
// read: 30 ms and 12 MB of a process here) is left for a kernel whose
// BTF does not name the wrapper.
func (e *Env) HaveSyscallWrapper() (bool, error) {
	prefix, ok := syscallWrapperPrefixes[runtime.GOARCH]
	if !ok {
		return false, nil
	}
	name := "__" + prefix + "_sys_bpf"
	if e.vmlinuxHasFunc(name) {
		return true, nil
	}
	return e.KallsymsHas(name)
}

type utsname struct{ release, version string }

func uname() (utsname, error) {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return utsname{}, fmt.Errorf("uname: %w", err)
	}
	return utsname{
		release: unix.ByteSliceToString(uts.Release[:]),
		version: unix.ByteSliceToString(uts.Version[:]),
	}, nil
}
