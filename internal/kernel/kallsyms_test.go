package kernel

import (
	"errors"
	"io/fs"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/testutil"
)

const kallsymsFixture = `ffffffff81000000 T _stext
ffffffff81001000 t dup_same
ffffffff81001000 t dup_same
ffffffff81002000 t dup_other
ffffffff81003000 t dup_other
ffffffff81004000 T do_unlinkat
ffffffff81005000 T do_unlinkat_helper
ffffffff81006000 T x_do_unlinkat
ffffffff81007000 D T
ffffffffc0001000 t mod_func	[testmod]
ffffffffc0002000 t ftrace_trampoline	[__builtin__ftrace]
ffffffff81008000 T last_line`

func TestLookupKallsyms(t *testing.T) {
	for _, tc := range []struct {
		name  string
		addr  uint64
		found bool
		err   error
	}{
		{"_stext", 0xffffffff81000000, true, nil},
		// Not fooled by names that contain it.
		{"do_unlinkat", 0xffffffff81004000, true, nil},
		{"do_unlinkat_helper", 0xffffffff81005000, true, nil},
		{"unlinkat", 0, false, nil},
		{"dup_same", 0xffffffff81001000, true, nil},
		{"dup_other", 0, false, ErrKallsymsAmbiguous},
		// A symbol named like a type letter is not the type field.
		{"T", 0xffffffff81007000, true, nil},
		{"D", 0, false, nil},
		{"mod_func", 0xffffffffc0001000, true, nil},
		{"testmod", 0, false, nil},
		{"[testmod]", 0, false, nil},
		{"last_line", 0xffffffff81008000, true, nil},
		{"rawload_missing", 0, false, nil},
		{"", 0, false, nil},
		{"_stext\nffffffff81001000", 0, false, nil},
		{"t dup_same", 0, false, nil},
	} {
		addr, found, err := lookupKallsyms([]byte(kallsymsFixture), tc.name)
		if addr != tc.addr || found != tc.found || !errors.Is(err, tc.err) || (err != nil) != (tc.err != nil) {
			t.Errorf("%q: %#x, %v, %v; want %#x, %v, %v", tc.name, addr, found, err, tc.addr, tc.found, tc.err)
		}
	}

	if _, _, err := lookupKallsyms([]byte("zzzz T bad_addr\n"), "bad_addr"); err == nil {
		t.Error("a line with a bad address parsed")
	}
}

func TestKallsymsHidden(t *testing.T) {
	const hidden = "0000000000000000 T _stext\n0000000000000000 t mod_func\t[testmod]\n"
	if hasNonzeroAddress([]byte(hidden)) {
		t.Error("all-zero addresses taken as shown")
	}
	if !hasNonzeroAddress([]byte(kallsymsFixture)) {
		t.Error("addresses taken as hidden")
	}
}

// requireKallsyms skips where /proc/kallsyms is unreadable or hides
// addresses, unless RAWLOAD_REQUIRE_KERNEL=1.
func requireKallsyms(tb testing.TB) *kallsyms {
	tb.Helper()
	ks, err := System().kallsymsText()
	if err == nil && !ks.hidden {
		return ks
	}
	if err == nil {
		err = ErrKallsymsHidden
	}
	testutil.SkipUnlessRequired(tb, "kernel symbols unusable here: %v", err)
	return nil
}

func TestKallsymsAddress(t *testing.T) {
	requireKallsyms(t)
	env := System()

	for _, name := range []string{"_stext", "do_unlinkat"} {
		addr, found, err := env.KallsymsAddress(name)
		if err != nil || !found || addr == 0 {
			t.Errorf("%s: %#x, %v, %v", name, addr, found, err)
		}
	}

	// Variables are listed only with KALLSYMS_ALL.
	cfg := requireKernelConfig(t)
	addr, found, err := env.KallsymsAddress("init_task")
	if err != nil {
		t.Fatal(err)
	}
	if all := cfg["CONFIG_KALLSYMS_ALL"] == "y"; found != all || (found && addr == 0) {
		t.Errorf("init_task: %#x, %v with KALLSYMS_ALL=%v", addr, found, all)
	}

	if addr, found, err := env.KallsymsAddress("rawload_no_such_symbol"); err != nil || found {
		t.Errorf("missing symbol: %#x, %v, %v", addr, found, err)
	}
	if has, err := env.KallsymsHas("_stext"); err != nil || !has {
		t.Errorf("KallsymsHas(_stext): %v, %v", has, err)
	}
}

// A kallsyms file that cannot be read, for now, is read by the next call;
// a hidden one is refused per symbol but still answers KallsymsHas.
func TestKallsymsNotCached(t *testing.T) {
	testutil.CheckNoLeak(t)
	path := filepath.Join(t.TempDir(), "kallsyms")
	env := New(Paths{Kallsyms: path})

	if _, _, err := env.KallsymsAddress("do_unlinkat"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: got %v", err)
	}
	writeFile(t, path, []byte(kallsymsFixture))

	restore := testutil.ExhaustFDs(t)
	_, _, err := env.KallsymsAddress("do_unlinkat")
	restore()
	if !errors.Is(err, unix.EMFILE) {
		t.Fatalf("without a free fd: got %v, want EMFILE", err)
	}

	addr, found, err := env.KallsymsAddress("do_unlinkat")
	if err != nil || !found || addr != 0xffffffff81004000 {
		t.Errorf("once readable: %#x, %v, %v", addr, found, err)
	}
	if _, _, err := env.KallsymsAddress("dup_other"); !errors.Is(err, ErrKallsymsAmbiguous) {
		t.Errorf("dup_other: %v", err)
	}
	if has, err := env.KallsymsHas("dup_other"); err != nil || !has {
		t.Errorf("KallsymsHas(dup_other): %v, %v", has, err)
	}

	hidden := New(Paths{Kallsyms: filepath.Join(t.TempDir(), "kallsyms")})
	writeFile(t, hidden.Paths().Kallsyms, []byte("0000000000000000 T _stext\n"))
	if _, _, err := hidden.KallsymsAddress("_stext"); !errors.Is(err, ErrKallsymsHidden) {
		t.Errorf("hidden address: %v", err)
	}
	if has, err := hidden.KallsymsHas("_stext"); err != nil || !has {
		t.Errorf("KallsymsHas where hidden: %v, %v", has, err)
	}
}

// BenchmarkKallsymsAddress compares a search of the cached text, the
// first question for a name, with a remembered answer.
func BenchmarkKallsymsAddress(b *testing.B) {
	ks := requireKallsyms(b)
	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			if _, found, err := lookupKallsyms(ks.text, "do_unlinkat"); err != nil || !found {
				b.Fatal(found, err)
			}
		}
	})
	b.Run("remembered", func(b *testing.B) {
		for b.Loop() {
			if _, found, err := System().KallsymsAddress("do_unlinkat"); err != nil || !found {
				b.Fatal(found, err)
			}
		}
	})
}
