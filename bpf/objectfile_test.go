package bpf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestReadObjectFileRefuses(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.o")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: takes no disk, but says it is larger than any object.
	if err := f.Truncate(MaxObjectSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()

	for _, c := range []struct {
		path string
		want error
		text string
	}{
		{"/dev/zero", ErrNotRegularFile, ""},
		{fifo, ErrNotRegularFile, ""},
		{dir, ErrNotRegularFile, ""},
		{huge, nil, "more than the"},
		{filepath.Join(dir, "missing.o"), os.ErrNotExist, ""},
	} {
		_, specErr := ReadSpec(c.path)
		_, openErr := Open(c.path, nil)
		for _, err := range []error{specErr, openErr} {
			switch {
			case err == nil:
				t.Errorf("%s: no error", c.path)
			case c.want != nil && !errors.Is(err, c.want):
				t.Errorf("%s: %v, want %v", c.path, err, c.want)
			case c.text != "" && !strings.Contains(err.Error(), c.text):
				t.Errorf("%s: %v, want it to say %q", c.path, err, c.text)
			}
		}
	}
}
