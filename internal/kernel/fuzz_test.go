package kernel

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// kconfigFuzzTypes are the extern types each value of a fuzzed config is
// stored in: every kind libbpf knows, and some it refuses.
var kconfigFuzzTypes = []btf.Type{
	kcBool, kcChar, kcU8, kcS16, kcU16, kcInt, kcU32, kcS64, kcU64, kcConstInt,
	kcTristate, kcTristate64, kcOtherEnum, kcStr8, kcBoolArr, kcWideBool, kcStruct,
	&btf.Array{Type: kcChar, Index: kcU32, Nelems: 1},
}

// FuzzParseKernelConfig reads a kernel config as Env does and stores every
// value in every extern type: an error or a value of exactly the extern's
// size, never a panic. The text also stands in for the files the kernel
// version is read from.
func FuzzParseKernelConfig(f *testing.F) {
	f.Add([]byte("# comment\nCONFIG_BPF_SYSCALL=y\nCONFIG_IPV6=m\n# CONFIG_X is not set\nCONFIG_HZ=250\n"))
	f.Add([]byte("CONFIG_PHYSICAL_START=0x1000000\nCONFIG_LOCALVERSION=\"-fc\"\nCONFIG_NEG=-12\nCONFIG_OCT=0755\n"))
	f.Add([]byte("CONFIG_S=\"a=b\"\nCONFIG_EMPTY_STR=\"\"\nCONFIG_Q=\"\nCONFIG_BIG=18446744073709551615\n"))
	f.Add([]byte("Ubuntu 5.4.0-42.46-generic 5.4.44\n"))
	f.Add([]byte("#1 SMP Debian 5.10.46-4 (2021-08-03)"))
	f.Fuzz(func(t *testing.T, text []byte) {
		cfg, err := parseKernelConfig(bytes.NewReader(text))
		if err == nil {
			for name, raw := range cfg {
				if !strings.HasPrefix(name, "CONFIG_") || raw == "" {
					t.Fatalf("%q = %q", name, raw)
				}
				for _, typ := range kconfigFuzzTypes {
					size, err := btf.Sizeof(typ)
					if err != nil {
						t.Fatal(err)
					}
					value, err := encodeKconfig(name, raw, typ, uint32(size))
					if (err == nil || errors.Is(err, ErrKconfigTruncated)) && len(value) != size {
						t.Fatalf("%s=%s as %v: %d bytes, want %d", name, raw, typ, len(value), size)
					}
				}
			}
		}
		s := string(text)
		parseKconfigInt(s)
		signature, rest, _ := strings.Cut(s, "\x00")
		version, release, _ := strings.Cut(rest, "\x00")
		parseLinuxKernelVersion(signature, version, release)
		parseLinuxKernelVersion("", "", s)
	})
}

// FuzzLookupKallsyms looks a name up in a fuzzed /proc/kallsyms and
// compares with a plain line-by-line reading of the same rules.
func FuzzLookupKallsyms(f *testing.F) {
	f.Add([]byte(kallsymsFixture), "do_unlinkat")
	f.Add([]byte(kallsymsFixture), "dup_other")
	f.Add([]byte(kallsymsFixture), "mod_func")
	f.Add([]byte(kallsymsFixture), "T")
	f.Add([]byte("0000000000000000 T a\n0000000000000000 t b\t[m]\n"), "b")
	f.Add([]byte("zz T x\n"), "x")
	f.Fuzz(func(t *testing.T, text []byte, name string) {
		addr, found, err := lookupKallsyms(text, name)
		wantAddr, wantFound, wantErr := referenceKallsyms(text, name)
		if (err != nil) != (wantErr != nil) || found != wantFound || addr != wantAddr {
			t.Fatalf("lookupKallsyms(%q) = %#x, %t, %v; line by line: %#x, %t, %v", name, addr, found, err, wantAddr, wantFound, wantErr)
		}
		if errors.Is(err, ErrKallsymsAmbiguous) != errors.Is(wantErr, ErrKallsymsAmbiguous) {
			t.Fatalf("lookupKallsyms(%q): %v; line by line: %v", name, err, wantErr)
		}
		hasNonzeroAddress(text)
	})
}

// referenceKallsyms is lookupKallsyms's contract read one line at a time:
// a line is "address type name", optionally followed by a tab and the
// module; the first unparseable address of a matching line is an error,
// two different addresses are ambiguous.
func referenceKallsyms(text []byte, name string) (addr uint64, found bool, err error) {
	if name == "" || strings.ContainsAny(name, " \t\n") {
		return 0, false, nil
	}
	for _, line := range strings.Split(string(text), "\n") {
		for p := 0; ; p++ {
			i := strings.Index(line[p:], " "+name)
			if i < 0 {
				break
			}
			p += i
			rest := line[p+1+len(name):]
			if rest != "" && rest[0] != '\t' {
				continue
			}
			field, typ, ok := strings.Cut(line[:p], " ")
			if !ok || len(typ) != 1 {
				continue
			}
			a, perr := strconv.ParseUint(field, 16, 64)
			if perr != nil {
				return 0, false, perr
			}
			if found && a != addr {
				return 0, false, ErrKallsymsAmbiguous
			}
			addr, found = a, true
		}
	}
	return addr, found, nil
}

// FuzzParseCPURanges reads /sys/devices/system/cpu/possible.
func FuzzParseCPURanges(f *testing.F) {
	for _, s := range []string{"0", "0-3", "0-3,8", "0-1,4-7,9", "", "-", "0-", ",", "0-4294967296"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseCPURanges(s)
		if err == nil && (n <= 0 || n > maxPossibleCPUs) {
			t.Fatalf("parseCPURanges(%q) = %d", s, n)
		}
	})
}
