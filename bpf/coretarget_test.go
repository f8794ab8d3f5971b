package bpf

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf/btf"

	"github.com/rawload/rawload/internal/kernel"
	"github.com/rawload/rawload/internal/testutil"
	"github.com/rawload/rawload/reloc"
)

// coreObjects are the objects whose CO-RE relocations the tests compute:
// this repository's and cilium/ebpf's little-endian test objects.
func coreObjects(t *testing.T) []string {
	t.Helper()
	paths, _ := filepath.Glob(testdata("*.o"))
	if dir, err := testutil.CiliumDir(); err == nil {
		for _, pattern := range []string{"testdata/*-el.elf", "btf/testdata/*-el.elf"} {
			more, _ := filepath.Glob(filepath.Join(dir, pattern))
			paths = append(paths, more...)
		}
	}
	return paths
}

// vmlinuxDirs are BTF directories to relocate against: the running
// kernel's, and the vmlinux BTF cilium/ebpf ships for its tests.
func vmlinuxDirs(t *testing.T) []string {
	t.Helper()
	var dirs []string
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err == nil {
		dirs = append(dirs, kernel.DefaultBTFDir)
	}
	if dir, err := testutil.CiliumDir(); err == nil {
		f, err := os.Open(filepath.Join(dir, "btf/testdata/vmlinux.btf.gz"))
		if err == nil {
			defer f.Close()
			zr, err := gzip.NewReader(f)
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			tmp := t.TempDir()
			if err := os.WriteFile(filepath.Join(tmp, "vmlinux"), data, 0o600); err != nil {
				t.Fatal(err)
			}
			dirs = append(dirs, tmp)
		}
	}
	if len(dirs) == 0 {
		t.Skip("no vmlinux BTF to relocate against")
	}
	return dirs
}

// TestCORETargetMatchesVmlinux: CO-RE against the part of vmlinux an
// object's relocations can match (kernel.Env.CORETarget) gives the same
// final instructions, and the same errors, as against all of vmlinux,
// for every test object and two kernels' BTF.
func TestCORETargetMatchesVmlinux(t *testing.T) {
	objects := coreObjects(t)
	for _, dir := range vmlinuxDirs(t) {
		full, err := kernel.New(kernel.Paths{BTFDir: dir}).Vmlinux()
		if err != nil {
			t.Fatal(err)
		}
		reduced := kernel.New(kernel.Paths{BTFDir: dir})
		used := 0
		for _, path := range objects {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			whole := func() (*btf.Spec, error) { return full, nil }
			want, wantErr := reloc.Link(data, &reloc.LinkOptions{TargetBTF: whole})
			got, gotErr := reloc.Link(data, &reloc.LinkOptions{TargetBTF: whole, CORETarget: func(names []string) (*btf.Spec, error) {
				used++
				return reduced.CORETarget(names)
			}})
			if (wantErr == nil) != (gotErr == nil) {
				t.Fatalf("%s against %s: Link %v, with CORETarget %v", path, dir, wantErr, gotErr)
			}
			if wantErr != nil {
				continue
			}
			for i, p := range want.Programs {
				q := got.Programs[i]
				if !bytes.Equal(p.Insns, q.Insns) || errString(p.Err) != errString(q.Err) || p.CORE != q.CORE {
					t.Errorf("%s against %s: program %s differs: err %v / %v", filepath.Base(path), dir, p.Name, p.Err, q.Err)
				}
			}
		}
		if used == 0 {
			t.Errorf("against %s: no object took the reduced CO-RE target", dir)
		}
		t.Logf("against %s: %d of %d objects relocated against a reduced target", dir, used, len(objects))
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
