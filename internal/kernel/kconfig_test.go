package kernel

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/testutil"
)

func TestParseKernelConfig(t *testing.T) {
	const text = `#
# Automatically generated file; DO NOT EDIT.
#
CONFIG_BPF_SYSCALL=y
CONFIG_IPV6=m
# CONFIG_KALLSYMS_ALL is not set
CONFIG_HZ=250
CONFIG_PHYSICAL_START=0x1000000
CONFIG_LOCALVERSION="-fc"

CONFIG_EQUALS="a=b"
`
	cfg, err := parseKernelConfig(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"CONFIG_BPF_SYSCALL":    "y",
		"CONFIG_IPV6":           "m",
		"CONFIG_HZ":             "250",
		"CONFIG_PHYSICAL_START": "0x1000000",
		"CONFIG_LOCALVERSION":   `"-fc"`,
		"CONFIG_EQUALS":         `"a=b"`,
	}
	if !maps.Equal(cfg, want) {
		t.Errorf("got %v\nwant %v", cfg, want)
	}

	for _, bad := range []string{"CONFIG_A=y\nCONFIG_NOVALUE\n", "CONFIG_EMPTY=\n"} {
		if _, err := parseKernelConfig(strings.NewReader(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// Extern types as clang emits them for the C declarations in the comments.
var (
	kcBool     = &btf.Int{Name: "_Bool", Size: 1, Encoding: btf.Bool}                     // bool
	kcChar     = &btf.Int{Name: "char", Size: 1, Encoding: btf.Signed | btf.Char}         // char
	kcU8       = &btf.Int{Name: "unsigned char", Size: 1}                                 // u8
	kcS16      = &btf.Int{Name: "short", Size: 2, Encoding: btf.Signed}                   // s16
	kcU16      = &btf.Int{Name: "unsigned short", Size: 2}                                // u16
	kcInt      = &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}                     // int
	kcU32      = &btf.Typedef{Name: "u32", Type: &btf.Int{Name: "unsigned int", Size: 4}} // u32
	kcS64      = &btf.Int{Name: "long long", Size: 8, Encoding: btf.Signed}               // s64
	kcU64      = &btf.Int{Name: "unsigned long long", Size: 8}                            // u64
	kcConstInt = &btf.Const{Type: &btf.Volatile{Type: kcInt}}                             // const volatile int
	kcTristate = &btf.Enum{Name: "libbpf_tristate", Size: 4, Values: []btf.EnumValue{
		{Name: "TRI_NO", Value: 0}, {Name: "TRI_YES", Value: 1}, {Name: "TRI_MODULE", Value: 2},
	}}
	kcTristate64 = &btf.Enum{Name: "libbpf_tristate", Size: 8}
	kcOtherEnum  = &btf.Enum{Name: "other", Size: 4}
	kcStr8       = &btf.Array{Type: kcChar, Index: kcU32, Nelems: 8} // char[8]
	kcBoolArr    = &btf.Array{Type: kcBool, Index: kcU32, Nelems: 8} // bool[8]
	kcWideBool   = &btf.Int{Name: "bool32", Size: 4, Encoding: btf.Bool}
	kcStruct     = &btf.Struct{Name: "s", Size: 4}
)

func ne16(v uint16) []byte { return binary.NativeEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte  { return binary.NativeEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte  { return binary.NativeEndian.AppendUint64(nil, v) }

func TestEncodeKconfig(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		typ  btf.Type
		want []byte
		err  error
	}{
		{"y", kcBool, []byte{1}, nil},
		{"n", kcBool, []byte{0}, nil},
		{"m", kcBool, nil, ErrKconfigValue},
		{"y", kcTristate, u32(1), nil},
		{"m", kcTristate, u32(2), nil},
		{"n", kcTristate, u32(0), nil},
		{"m", kcTristate64, u64(2), nil},
		{"y", kcChar, []byte{'y'}, nil},
		{"m", kcU8, []byte{'m'}, nil},
		{"65", kcChar, []byte{65}, nil},
		{"255", kcU8, []byte{255}, nil},
		{"256", kcU8, nil, ErrKconfigValue},
		{"-128", kcChar, []byte{0x80}, nil},
		{"-129", kcChar, nil, ErrKconfigValue},
		{"123", kcU32, u32(123), nil},
		{"0x10", kcU32, u32(16), nil},
		{"0X1f", kcU32, u32(31), nil},
		{"010", kcU32, u32(8), nil},
		{"0", kcU32, u32(0), nil},
		{"-1", kcInt, u32(0xffffffff), nil},
		{"250", kcConstInt, u32(250), nil},
		{"4294967295", kcU32, u32(0xffffffff), nil},
		{"4294967296", kcU32, nil, ErrKconfigValue},
		{"2147483648", kcInt, nil, ErrKconfigValue},
		{"-2147483648", kcInt, u32(0x80000000), nil},
		{"-32768", kcS16, ne16(0x8000), nil},
		{"32768", kcS16, nil, ErrKconfigValue},
		{"65535", kcU16, ne16(0xffff), nil},
		{"65536", kcU16, nil, ErrKconfigValue},
		{"18446744073709551615", kcU64, u64(^uint64(0)), nil},
		{"-9223372036854775808", kcS64, u64(1 << 63), nil},
		{"18446744073709551616", kcU64, nil, ErrKconfigValue},
		{"12abc", kcU32, nil, ErrKconfigValue},
		{"1_000", kcU32, nil, ErrKconfigValue},
		{"0x", kcU32, nil, ErrKconfigValue},
		{"08", kcU32, nil, ErrKconfigValue},
		{"--1", kcInt, nil, ErrKconfigValue},
		{`"abc"`, kcStr8, []byte("abc\x00\x00\x00\x00\x00"), nil},
		{`""`, kcStr8, make([]byte, 8), nil},
		{`"abcdefg"`, kcStr8, []byte("abcdefg\x00"), nil},
		{`"abcdefgh"`, kcStr8, []byte("abcdefg\x00"), ErrKconfigTruncated},
		{`"abc`, kcStr8, nil, ErrKconfigValue},
		{`"`, kcStr8, nil, ErrKconfigValue},
		// Type mismatches.
		{`"str"`, kcBool, nil, ErrKconfigValue},
		{`"str"`, kcU32, nil, ErrKconfigValue},
		{"y", kcU32, nil, ErrKconfigValue},
		{"y", kcStr8, nil, ErrKconfigValue},
		{"1", kcBool, nil, ErrKconfigValue},
		{"1", kcTristate, nil, ErrKconfigValue},
		{"1", kcStr8, nil, ErrKconfigValue},
		// Types libbpf does not take for kconfig.
		{"y", kcWideBool, nil, ErrKconfigValue},
		{"y", kcOtherEnum, nil, ErrKconfigValue},
		{"y", kcBoolArr, nil, ErrKconfigValue},
		{"1", kcStruct, nil, ErrKconfigValue},
		{"", kcU32, nil, ErrKconfigValue},
	} {
		t.Run(fmt.Sprintf("%s/%v", tc.raw, tc.typ), func(t *testing.T) {
			size, err := btf.Sizeof(tc.typ)
			if err != nil {
				t.Fatal(err)
			}
			got, err := encodeKconfig("CONFIG_TEST", tc.raw, tc.typ, uint32(size))
			if !errors.Is(err, tc.err) || (err != nil) != (tc.err != nil) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if err != nil && !strings.Contains(err.Error(), "CONFIG_TEST") {
				t.Errorf("error %q does not name the extern", err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("got %x, want %x", got, tc.want)
			}
		})
	}
}

func TestEncodeKconfigSize(t *testing.T) {
	if _, err := encodeKconfig("CONFIG_TEST", "1", kcU32, 8); !errors.Is(err, ErrKconfigValue) {
		t.Errorf("u32 in 8 bytes: %v", err)
	}
	// The type of a Var is the Var's type.
	got, err := encodeKconfig("CONFIG_TEST", "7", &btf.Var{Name: "CONFIG_TEST", Type: kcU32}, 4)
	if err != nil || !bytes.Equal(got, u32(7)) {
		t.Errorf("var: %x, %v", got, err)
	}
}

// Values libbpf derives may go into a bool; config numbers may not.
func TestEncodeKconfigDerived(t *testing.T) {
	for _, tc := range []struct {
		n    uint64
		typ  btf.Type
		want []byte
	}{
		{1, kcBool, []byte{1}},
		{0, kcBool, []byte{0}},
		{2, kcBool, nil},
		{1, kcChar, []byte{1}},
		{0x6122c, kcInt, u32(0x6122c)},
		{0x6122c, kcU16, nil},
		{1, kcTristate, nil},
		{1, kcStr8, nil},
	} {
		size, _ := btf.Sizeof(tc.typ)
		got, err := encodeKconfigNumber("LINUX_TEST", tc.n, tc.typ, uint32(size), true)
		if tc.want == nil {
			if !errors.Is(err, ErrKconfigValue) {
				t.Errorf("%d in %v: %x, %v; want ErrKconfigValue", tc.n, tc.typ, got, err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("%d in %v: %x, %v; want %x", tc.n, tc.typ, got, err, tc.want)
		}
	}
}

func TestParseLinuxKernelVersion(t *testing.T) {
	for _, tc := range []struct {
		signature, version, release string
		want                        uint32
	}{
		{"", "#1 SMP PREEMPT_DYNAMIC", "6.18.44-fc-v669", 6<<16 | 18<<8 | 44},
		{"", "", "6.18.0", 6<<16 | 18<<8},
		{"", "", "4.19.300-long", 4<<16 | 19<<8 | 255},
		{"Ubuntu 5.4.0-42.46-generic 5.4.44\n", "#46-Ubuntu SMP", "5.4.0-42-generic", 5<<16 | 4<<8 | 44},
		{"", "#1 SMP Debian 5.10.46-4 (2021-08-03)", "5.10.0-8-amd64", 5<<16 | 10<<8 | 46},
		{"garbage", "#1 SMP Debian", "5.10.0-8-amd64", 5<<16 | 10<<8},
		{"", "", "6.18", 0},
		{"", "", "6.x.1", 0},
		{"", "", "", 0},
	} {
		got, err := parseLinuxKernelVersion(tc.signature, tc.version, tc.release)
		if tc.want == 0 {
			if err == nil {
				t.Errorf("%q: %#x, want an error", tc.release, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q %q %q: %#x, %v; want %#x", tc.signature, tc.version, tc.release, got, err, tc.want)
		}
	}
}

// requireKernelConfig skips where the kernel's config is nowhere to be
// read, unless RAWLOAD_REQUIRE_KERNEL=1.
func requireKernelConfig(t *testing.T) map[string]string {
	t.Helper()
	cfg, err := System().KernelConfig()
	if err == nil {
		return cfg
	}
	if errors.Is(err, os.ErrNotExist) {
		testutil.SkipUnlessRequired(t, "no kernel config here: %v", err)
	}
	t.Fatal(err)
	return nil
}

func TestKconfigRunningKernel(t *testing.T) {
	cfg := requireKernelConfig(t)
	if cfg["CONFIG_BPF_SYSCALL"] != "y" {
		t.Errorf("CONFIG_BPF_SYSCALL=%q", cfg["CONFIG_BPF_SYSCALL"])
	}
	again, _ := System().KernelConfig()
	if fmt.Sprintf("%p", again) != fmt.Sprintf("%p", cfg) {
		t.Error("kernel config read twice")
	}

	value, found, err := System().KconfigValue("CONFIG_BPF_SYSCALL", kcBool, 1)
	if err != nil || !found || !bytes.Equal(value, []byte{1}) {
		t.Errorf("CONFIG_BPF_SYSCALL as bool: %x, %v, %v", value, found, err)
	}
	value, found, err = System().KconfigValue("CONFIG_BPF_SYSCALL", kcTristate, 4)
	if err != nil || !found || !bytes.Equal(value, u32(tristateYes)) {
		t.Errorf("CONFIG_BPF_SYSCALL as tristate: %x, %v, %v", value, found, err)
	}
	if hz, ok := cfg["CONFIG_HZ"]; ok {
		n, err := strconv.ParseUint(hz, 10, 32)
		if err != nil {
			t.Fatal(err)
		}
		value, found, err = System().KconfigValue("CONFIG_HZ", kcInt, 4)
		if err != nil || !found || !bytes.Equal(value, u32(uint32(n))) {
			t.Errorf("CONFIG_HZ=%s as int: %x, %v, %v", hz, value, found, err)
		}
	}

	// Absent options are for the caller to zero or refuse, but their type
	// is checked all the same.
	if value, found, err := System().KconfigValue("CONFIG_RAWLOAD_NO_SUCH_OPTION", kcBool, 1); err != nil || found {
		t.Errorf("missing option: %x, %v, %v", value, found, err)
	}
	if _, _, err := System().KconfigValue("CONFIG_RAWLOAD_NO_SUCH_OPTION", kcStruct, 4); !errors.Is(err, ErrKconfigValue) {
		t.Errorf("missing option of a struct type: %v", err)
	}
	if _, found, err := System().KconfigValue("LINUX_RAWLOAD_FUTURE", kcBool, 1); err != nil || found {
		t.Errorf("unknown LINUX_ value: %v, %v", found, err)
	}
	if _, _, err := System().KconfigValue("RAWLOAD_OPTION", kcBool, 1); !errors.Is(err, ErrKconfigValue) {
		t.Errorf("neither CONFIG_ nor LINUX_: %v", err)
	}
}

func TestKconfigLinuxValues(t *testing.T) {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	release := unix.ByteSliceToString(uts.Release[:])
	var major, minor, patch uint32
	if _, err := fmt.Sscanf(release, "%d.%d.%d", &major, &minor, &patch); err != nil {
		t.Fatalf("uname release %q: %v", release, err)
	}

	value, found, err := System().KconfigValue("LINUX_KERNEL_VERSION", kcInt, 4)
	if err != nil || !found {
		t.Fatalf("LINUX_KERNEL_VERSION: %v, %v", found, err)
	}
	version := binary.NativeEndian.Uint32(value)
	_, sigErr := os.Stat("/proc/version_signature")
	if errors.Is(sigErr, os.ErrNotExist) && !strings.Contains(unix.ByteSliceToString(uts.Version[:]), "Debian ") {
		if want := major<<16 | minor<<8 | min(patch, 255); version != want {
			t.Errorf("LINUX_KERNEL_VERSION %#x, uname %s says %#x", version, release, want)
		}
	}

	value, found, err = System().KconfigValue("LINUX_HAS_BPF_COOKIE", kcBool, 1)
	if err != nil || !found {
		t.Fatalf("LINUX_HAS_BPF_COOKIE: %v, %v", found, err)
	}
	if want := boolValue(version >= 5<<16|15<<8); value[0] != byte(want) {
		t.Errorf("LINUX_HAS_BPF_COOKIE %d on %s", value[0], release)
	}

	value, found, err = System().KconfigValue("LINUX_HAS_SYSCALL_WRAPPER", kcBool, 1)
	if err != nil || !found {
		t.Fatalf("LINUX_HAS_SYSCALL_WRAPPER: %v, %v", found, err)
	}
	// x86-64 and arm64 kernels have had the wrappers since 4.17 and 5.0.
	if (runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64") && version >= 5<<16 && value[0] != 1 {
		t.Errorf("LINUX_HAS_SYSCALL_WRAPPER %d on %s/%s", value[0], runtime.GOARCH, release)
	}
	t.Logf("LINUX_KERNEL_VERSION %#x, LINUX_HAS_SYSCALL_WRAPPER %d", version, value[0])
}

// A config that is nowhere yet is read once it appears, first from
// ProcConfig, else from config-<release> in BootDir; an fd shortage is
// not kept either.
func TestKernelConfigNotCached(t *testing.T) {
	testutil.CheckNoLeak(t)
	dir := t.TempDir()
	env := New(Paths{ProcConfig: filepath.Join(dir, "config.gz"), BootDir: dir})

	_, err := env.KernelConfig()
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "config.gz") || !strings.Contains(err.Error(), "config-") {
		t.Fatalf("no config: got %v", err)
	}

	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	boot := filepath.Join(dir, "config-"+unix.ByteSliceToString(uts.Release[:]))
	writeFile(t, boot, []byte("CONFIG_FROM_BOOT=y\n"))

	restore := testutil.ExhaustFDs(t)
	_, err = env.KernelConfig()
	restore()
	if !errors.Is(err, unix.EMFILE) {
		t.Fatalf("without a free fd: got %v, want EMFILE", err)
	}

	cfg, err := env.KernelConfig()
	if err != nil || cfg["CONFIG_FROM_BOOT"] != "y" {
		t.Fatalf("from %s: %v, %v", boot, cfg, err)
	}

	// Kept now: a /proc/config.gz appearing later changes nothing.
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte("CONFIG_FROM_PROC=y\n"))
	w.Close()
	writeFile(t, filepath.Join(dir, "config.gz"), gz.Bytes())
	if cfg, _ := env.KernelConfig(); cfg["CONFIG_FROM_PROC"] != "" {
		t.Error("a kept config was read again")
	}
	fresh := New(env.Paths())
	if cfg, err := fresh.KernelConfig(); err != nil || cfg["CONFIG_FROM_PROC"] != "y" || cfg["CONFIG_FROM_BOOT"] != "" {
		t.Errorf("ProcConfig first: %v, %v", cfg, err)
	}
	value, found, err := fresh.KconfigValue("CONFIG_FROM_PROC", kcBool, 1)
	if err != nil || !found || !bytes.Equal(value, []byte{1}) {
		t.Errorf("CONFIG_FROM_PROC as bool: %x, %v, %v", value, found, err)
	}
}

// A version signature that is there but cannot be read must not leave
// the release's sublevel cached in place of the signature's.
func TestKernelVersionSignature(t *testing.T) {
	testutil.CheckNoLeak(t)
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	release := unix.ByteSliceToString(uts.Release[:])
	var major, minor uint32
	if _, err := fmt.Sscanf(release, "%d.%d.", &major, &minor); err != nil {
		t.Skipf("uname release %q: %v", release, err)
	}
	if strings.Contains(unix.ByteSliceToString(uts.Version[:]), "Debian ") {
		t.Skip("a Debian uname version takes precedence over the release")
	}
	sig := filepath.Join(t.TempDir(), "version_signature")
	writeFile(t, sig, fmt.Appendf(nil, "Ubuntu %s-1.1-generic %d.%d.77\n", release, major, minor))
	env := New(Paths{VersionSignature: sig})

	restore := testutil.ExhaustFDs(t)
	_, err := env.KernelVersion()
	restore()
	if !errors.Is(err, unix.EMFILE) {
		t.Fatalf("without a free fd: got %v, want EMFILE", err)
	}
	v, err := env.KernelVersion()
	if want := kernelVersion(major, minor, 77); err != nil || v != want {
		t.Errorf("LINUX_KERNEL_VERSION %#x, %v; want %#x from the signature", v, err, want)
	}
}

// LINUX_HAS_SYSCALL_WRAPPER comes from the kernel's BTF where it names
// the wrapper, without reading /proc/kallsyms (here a path that does not
// exist, which would fail); where the BTF does not (an empty BTF
// directory), from kallsyms.
func TestHaveSyscallWrapperFromBTF(t *testing.T) {
	prefix, ok := syscallWrapperPrefixes[runtime.GOARCH]
	if !ok {
		t.Skipf("no syscall wrappers on %s", runtime.GOARCH)
	}
	name := "__" + prefix + "_sys_bpf"
	if _, err := os.Stat(filepath.Join(DefaultBTFDir, "vmlinux")); err != nil {
		t.Skip("no vmlinux BTF:", err)
	}
	if !New(Paths{}).vmlinuxHasFunc(name) {
		t.Skipf("this kernel's BTF has no %s", name)
	}

	noKallsyms := filepath.Join(t.TempDir(), "kallsyms")
	has, err := New(Paths{Kallsyms: noKallsyms}).HaveSyscallWrapper()
	if err != nil || !has {
		t.Fatalf("with BTF, no kallsyms: %v, %v; want true from BTF", has, err)
	}

	if err := os.WriteFile(noKallsyms, []byte("ffffffff81000000 T "+name+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	has, err = New(Paths{BTFDir: t.TempDir(), Kallsyms: noKallsyms}).HaveSyscallWrapper()
	if err != nil || !has {
		t.Fatalf("without BTF, kallsyms naming %s: %v, %v; want true", name, has, err)
	}
	os.WriteFile(noKallsyms, []byte("ffffffff81000000 T other\n"), 0o600)
	has, err = New(Paths{BTFDir: t.TempDir(), Kallsyms: noKallsyms}).HaveSyscallWrapper()
	if err != nil || has {
		t.Fatalf("without BTF, kallsyms without it: %v, %v; want false", has, err)
	}
}
