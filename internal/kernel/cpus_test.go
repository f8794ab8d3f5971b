package kernel

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/testutil"
)

func TestParseCPURanges(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"0", 1},
		{"0-3", 4},
		{"0-3,8", 9},
		{"0,2-5,7", 8},
		{"8,0-3", 9},
		{"", 0},
		{"a-b", 0},
		{"0-", 0},
	} {
		got, err := parseCPURanges(tc.in)
		if tc.want == 0 {
			if err == nil {
				t.Errorf("%q: %d, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestPossibleCPUs(t *testing.T) {
	n, err := System().PossibleCPUs()
	if errors.Is(err, fs.ErrNotExist) {
		testutil.SkipUnlessRequired(t, "no %s here", DefaultPossibleCPUs)
	}
	if err != nil {
		t.Fatal(err)
	}
	if n < runtime.NumCPU() {
		t.Errorf("%d possible CPUs, %d usable", n, runtime.NumCPU())
	}
}

func TestPossibleCPUsNotCached(t *testing.T) {
	testutil.CheckNoLeak(t)
	path := filepath.Join(t.TempDir(), "possible")
	env := New(Paths{PossibleCPUs: path})
	if _, err := env.PossibleCPUs(); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	writeFile(t, path, []byte("0-7\n"))

	restore := testutil.ExhaustFDs(t)
	_, err := env.PossibleCPUs()
	restore()
	if !errors.Is(err, unix.EMFILE) {
		t.Fatalf("without a free fd: got %v, want EMFILE", err)
	}
	if n, err := env.PossibleCPUs(); n != 8 || err != nil {
		t.Fatalf("once readable: %d, %v", n, err)
	}
	if err := os.WriteFile(path, []byte("0-1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if n, _ := env.PossibleCPUs(); n != 8 {
		t.Errorf("a kept count was read again: %d", n)
	}
}
