package bpf

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
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

// TestOpenBytesKeepsNoData overwrites the bytes every repository object
// was opened from: the Object must be the same as one opened from a copy
// kept intact (what Open's recycling of file buffers relies on), and
// loader.o must still load and run.
func TestOpenBytesKeepsNoData(t *testing.T) {
	paths, _ := filepath.Glob(testdata("*.o"))
	for _, path := range paths {
		data, err := os.ReadFile(path)
		must(t, err)
		intact, err := OpenBytes(bytes.Clone(data), nil)
		if err != nil {
			continue // objects that do not open are other tests' business
		}
		defer intact.Close()
		// Open a second time from a buffer that is then overwritten.
		buf := bytes.Clone(data)
		obj, err := OpenBytes(buf, nil)
		must(t, err)
		defer obj.Close()
		for i := range buf {
			buf[i] = 0xa5
		}
		if !reflect.DeepEqual(obj.Spec(), intact.Spec()) {
			t.Errorf("%s: Spec changed with the bytes it was opened from", path)
		}
		if !bytes.Equal(obj.spec.BTF, intact.spec.BTF) {
			t.Errorf("%s: BTF changed with the bytes it was opened from", path)
		}
		// Linked instructions, before each Object's map slots go in.
		for i, p := range obj.spec.Programs {
			q := intact.spec.Programs[i]
			if !bytes.Equal(p.Insns, q.Insns) || !bytes.Equal(p.FuncInfo, q.FuncInfo) || !bytes.Equal(p.LineInfo, q.LineInfo) {
				t.Errorf("%s: program %s changed with the bytes it was opened from", path, p.Name)
			}
		}
		for i, m := range obj.Maps() {
			if !bytes.Equal(m.contents, intact.Maps()[i].contents) {
				t.Errorf("%s: map %s's contents changed with the bytes it was opened from", path, m.Name())
			}
		}
		if filepath.Base(path) == "loader.o" {
			t.Run("load", func(t *testing.T) {
				requireKernel(t)
				must(t, obj.Load(context.Background()))
				if ret := testRun(t, obj.Program("prog_maps")); ret != 3 {
					t.Errorf("loader.o opened from overwritten bytes: prog_maps returned %d, want 3", ret)
				}
			})
		}
	}
}
