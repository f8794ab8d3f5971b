package bpf

import (
	"bytes"
	"debug/elf"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/testutil"
	"github.com/rawload/rawload/reloc"
)

// TestReadSparseMatchesWhole reads every object of this repository (both
// byte orders, all built with -g) and of cilium/ebpf, and RAWLOAD_CORPUS
// when set, without its DWARF: the bytes of every other section are the
// file's, the DWARF's are left zero, and Open makes the same object of
// both: the same spec, instructions and errors.
func TestReadSparseMatchesWhole(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "*.o"))
	dir, err := testutil.CiliumDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, pattern := range []string{"testdata/*-e[lb].elf", "btf/testdata/*-e[lb].elf"} {
		m, _ := filepath.Glob(filepath.Join(dir, pattern))
		paths = append(paths, m...)
	}
	if corpus := os.Getenv("RAWLOAD_CORPUS"); corpus != "" {
		filepath.WalkDir(corpus, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && filepath.Ext(path) == ".o" {
				paths = append(paths, path)
			}
			return nil
		})
	}
	skippedAny := false
	for _, path := range paths {
		name := filepath.Base(path)
		whole, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sparse := make([]byte, len(whole))
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		ok, err := readSparse(fd, sparse)
		unix.Close(fd)
		if err != nil || !ok {
			t.Errorf("%s: readSparse: %v, %v", name, ok, err)
			continue
		}

		f, err := elf.NewFile(bytes.NewReader(whole))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, s := range f.Sections {
			if s.Type == elf.SHT_NOBITS || s.Size == 0 {
				continue
			}
			part := func(b []byte) []byte { return b[s.Offset : s.Offset+s.Size] }
			debug := strings.HasPrefix(s.Name, ".debug_") || strings.HasPrefix(s.Name, ".rel.debug_") || strings.HasPrefix(s.Name, ".rela.debug_")
			switch {
			case !debug && !bytes.Equal(part(sparse), part(whole)):
				t.Errorf("%s: section %s differs", name, s.Name)
			case debug && !bytes.Equal(part(sparse), part(whole)):
				skippedAny = true
			}
		}
		f.Close()

		a, aerr := OpenBytes(whole, nil)
		b, berr := OpenBytes(sparse, nil)
		if (aerr == nil) != (berr == nil) || (aerr != nil && aerr.Error() != berr.Error()) {
			t.Errorf("%s: opened whole: %v; without DWARF: %v", name, aerr, berr)
		}
		if aerr != nil || berr != nil {
			closeIf(a)
			closeIf(b)
			continue
		}
		if !reflect.DeepEqual(a.Spec(), b.Spec()) {
			t.Errorf("%s: specs differ", name)
		}
		a.Close()
		b.Close()
		// Linked alone, as an Object's instructions hold its own fd slots.
		la, aerr := reloc.Link(whole, nil)
		lb, berr := reloc.Link(sparse, nil)
		if aerr != nil || berr != nil {
			t.Errorf("%s: linked whole: %v; without DWARF: %v", name, aerr, berr)
			continue
		}
		for i, p := range la.Programs {
			q := lb.Programs[i]
			if !bytes.Equal(p.Insns, q.Insns) || !bytes.Equal(p.LineInfo, q.LineInfo) || !bytes.Equal(p.FuncInfo, q.FuncInfo) {
				t.Errorf("%s: program %s differs", name, p.Name)
			}
		}
		if !bytes.Equal(la.BTF, lb.BTF) {
			t.Errorf("%s: BTF differs", name)
		}
	}
	if !skippedAny {
		t.Error("no object had DWARF left out")
	}
}

func closeIf(o *Object) {
	if o != nil {
		o.Close()
	}
}

// Files from sparseMin bytes up are read without their DWARF; one that
// is not an ELF object of a known layout is read whole, and the ELF
// parser says what is wrong with it.
func TestReadObjectFileLarge(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.o")
	if err := os.WriteFile(junk, bytes.Repeat([]byte("not an ELF object "), sparseMin/8), 0o600); err != nil {
		t.Fatal(err)
	}
	data, err := readObjectFile(junk)
	if err != nil || len(data) < sparseMin || !bytes.HasPrefix(data, []byte("not an ELF")) {
		t.Fatalf("junk: %d bytes, %v", len(data), err)
	}
	if _, err := Open(junk, nil); err == nil {
		t.Fatal("junk opened")
	}
}

// FuzzReadSparse reads mutated objects from a memfd: readSparse never
// panics nor reads outside the file, and every byte it fills is the
// file's (the rest stays zero); when it gives up, it says so.
func FuzzReadSparse(f *testing.F) {
	for _, name := range []string{"dynload.o", "lineinfo.o", "legacy-eb.o"} {
		data, err := os.ReadFile(filepath.Join("..", "testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, whole []byte) {
		if len(whole) == 0 || len(whole) > 64<<10 {
			return
		}
		fd, err := unix.MemfdCreate("rawload-fuzz", unix.MFD_CLOEXEC)
		if err != nil {
			t.Skip("memfd:", err)
		}
		defer unix.Close(fd)
		if n, err := unix.Write(fd, whole); err != nil || n != len(whole) {
			t.Fatalf("write: %d, %v", n, err)
		}
		sparse := make([]byte, len(whole))
		ok, err := readSparse(fd, sparse)
		if err != nil {
			t.Fatalf("readSparse: %v", err)
		}
		if !ok {
			return
		}
		for i := range sparse {
			if sparse[i] != 0 && sparse[i] != whole[i] {
				t.Fatalf("byte %d: %#x, file has %#x", i, sparse[i], whole[i])
			}
		}
		if len(whole) >= elfHeaderSize && !bytes.Equal(sparse[:elfHeaderSize], whole[:elfHeaderSize]) {
			t.Fatal("ELF header not read")
		}
	})
}

// A section named .debug_* that holds code (SHF_EXECINSTR) is read like
// any other: only DWARF, neither loaded nor executable, is left out.
func TestReadSparseKeepsCodeNamedDebug(t *testing.T) {
	whole, err := os.ReadFile(testdata("attach_net.o"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.NewFile(bytes.NewReader(whole))
	if err != nil {
		t.Fatal(err)
	}
	var code *elf.Section
	index := -1
	for i, s := range f.Sections {
		if s.Flags&elf.SHF_EXECINSTR != 0 && len(s.Name) >= len(".debug_") && s.Size > 0 {
			code, index = s, i
			break
		}
	}
	if code == nil {
		t.Fatal("no code section with a long enough name")
	}
	// Rename it in place: the name's first bytes in the string table
	// that holds it (clang keeps section names in .strtab).
	renamed := false
	for _, st := range f.Sections {
		if st.Type != elf.SHT_STRTAB {
			continue
		}
		table := whole[st.Offset : st.Offset+st.Size]
		// Every occurrence: the name may also be the tail of another
		// (".rel" + name).
		for from := 0; ; {
			at := bytes.Index(table[from:], []byte(code.Name+"\x00"))
			if at < 0 {
				break
			}
			copy(table[from+at:], ".debug_")
			from += at + 1
			renamed = true
		}
	}
	if g, err := elf.NewFile(bytes.NewReader(whole)); err != nil || !renamed || !strings.HasPrefix(g.Sections[index].Name, ".debug_") {
		t.Fatalf("renaming %s did not take (%v)", code.Name, err)
	}
	path := filepath.Join(t.TempDir(), "renamed.o")
	if err := os.WriteFile(path, whole, 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	// Parts read exactly, not merged with their neighbours.
	defer func(was uint64) { sparseMergeGap = was }(sparseMergeGap)
	sparseMergeGap = 0
	sparse := make([]byte, len(whole))
	if ok, err := readSparse(fd, sparse); !ok || err != nil {
		t.Fatalf("readSparse: %v, %v", ok, err)
	}
	part := func(b []byte) []byte { return b[code.Offset : code.Offset+code.Size] }
	if !bytes.Equal(part(sparse), part(whole)) {
		t.Errorf("code in a section renamed %q left out", ".debug_"+code.Name[len(".debug_"):])
	}
}
