package elf

import (
	"bytes"
	delf "debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The peer objects are cilium/ebpf's own test objects, compiled by clang for
// both byte orders; they are found through the module cache, never copied.
var ciliumDir = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/cilium/ebpf").Output()
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
})

type object struct {
	name string
	data []byte
}

func objectPaths(tb testing.TB) []string {
	tb.Helper()
	dir, err := ciliumDir()
	if err != nil {
		tb.Fatalf("locating github.com/cilium/ebpf: %v", err)
	}
	var paths []string
	for _, sub := range []string{"testdata", "btf/testdata"} {
		for _, pattern := range []string{"*-el.elf", "*-eb.elf"} {
			m, err := filepath.Glob(filepath.Join(dir, sub, pattern))
			if err != nil {
				tb.Fatal(err)
			}
			paths = append(paths, m...)
		}
	}
	if len(paths) < 20 {
		tb.Fatalf("found only %d objects under %s", len(paths), dir)
	}
	return paths
}

func readObject(tb testing.TB, path string) object {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return object{name: filepath.Base(path), data: data}
}

func allObjects(tb testing.TB) []object {
	var objs []object
	for _, p := range objectPaths(tb) {
		objs = append(objs, readObject(tb, p))
	}
	return objs
}

// loaderObjects returns the object the corruption tests mutate, in both byte
// orders: it has programs, calls, maps, .bss, BTF and relocations.
func loaderObjects(tb testing.TB) []object {
	tb.Helper()
	dir, err := ciliumDir()
	if err != nil {
		tb.Fatalf("locating github.com/cilium/ebpf: %v", err)
	}
	return []object{
		readObject(tb, filepath.Join(dir, "testdata", "loader-clang-22-el.elf")),
		readObject(tb, filepath.Join(dir, "testdata", "loader-clang-22-eb.elf")),
	}
}

// layout locates structures in an unmodified object with debug/elf, so the
// tests can corrupt precisely one field.
type layout struct {
	bo       binary.ByteOrder
	ef       *delf.File
	shoff    uint64
	sections map[string]int
}

func newLayout(tb testing.TB, data []byte) *layout {
	tb.Helper()
	ef, err := delf.NewFile(bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	l := &layout{bo: ef.ByteOrder, ef: ef, sections: map[string]int{}}
	l.shoff = l.bo.Uint64(data[40:])
	for i, s := range ef.Sections {
		if _, ok := l.sections[s.Name]; !ok {
			l.sections[s.Name] = i
		}
	}
	return l
}

func (l *layout) index(tb testing.TB, name string) int {
	tb.Helper()
	i, ok := l.sections[name]
	if !ok {
		tb.Fatalf("no section %q", name)
	}
	return i
}

// shdr returns the section header of the named section within b.
func (l *layout) shdr(tb testing.TB, b []byte, name string) []byte {
	tb.Helper()
	return b[l.shoff+uint64(l.index(tb, name))*sectionHeaderSize:][:sectionHeaderSize]
}

// symbol returns symbol table entry i within b.
func (l *layout) symbol(tb testing.TB, b []byte, i int) []byte {
	tb.Helper()
	symtab := l.ef.Sections[l.index(tb, ".symtab")]
	return b[symtab.Offset+uint64(i)*symbolSize:][:symbolSize]
}

// rel returns relocation entry i of the named relocation section within b.
func (l *layout) rel(tb testing.TB, b []byte, name string, i int) []byte {
	tb.Helper()
	s := l.ef.Sections[l.index(tb, name)]
	return b[s.Offset+uint64(i)*relSize:][:relSize]
}

// symbolIndex finds a symbol defined in the named section.
func (l *layout) symbolIndex(tb testing.TB, section string) int {
	i, _ := l.symbolIn(tb, section)
	return i
}

// symbolIn finds a symbol defined in the named section and returns its index
// and how errors name it.
func (l *layout) symbolIn(tb testing.TB, section string) (int, string) {
	tb.Helper()
	syms, err := l.ef.Symbols()
	if err != nil {
		tb.Fatal(err)
	}
	want := l.index(tb, section)
	for i, s := range syms {
		if int(s.Section) == want && delf.ST_TYPE(s.Info) != delf.STT_SECTION {
			return i + 1, fmt.Sprintf("symbol %d %q", i+1, s.Name) // debug/elf drops the null symbol
		}
	}
	tb.Fatalf("no symbol in %q", section)
	return 0, ""
}

func isSentinel(err error) bool {
	return errors.Is(err, ErrNotELF) || errors.Is(err, ErrUnsupported) || errors.Is(err, ErrMalformed)
}

// label is how errors name a section of the unmodified object.
func (l *layout) label(tb testing.TB, name string) string {
	tb.Helper()
	return fmt.Sprintf("section %d %q", l.index(tb, name), name)
}

// corruption damages one field of a real object.
type corruption struct {
	name   string
	mutate func(tb testing.TB, b []byte, l *layout)
	want   error
	msg    func(tb testing.TB, l *layout) string // substring of the error
}

func text(s string) func(testing.TB, *layout) string {
	return func(testing.TB, *layout) string { return s }
}

// runCorruptions applies each corruption to the loader object in both byte
// orders. Parse must fail with the wanted error, or, if relocTarget is set,
// succeed and leave RelocationsFor on the section of that name to fail.
func runCorruptions(t *testing.T, relocTarget string, cases []corruption) {
	t.Helper()
	for _, obj := range loaderObjects(t) {
		l := newLayout(t, obj.data)
		for _, c := range cases {
			t.Run(obj.name+"/"+c.name, func(t *testing.T) {
				b := bytes.Clone(obj.data)
				c.mutate(t, b, l)
				f, err := Parse(b)
				if relocTarget != "" {
					if err != nil {
						t.Fatalf("Parse: %v", err)
					}
					_, err = f.RelocationsFor(f.Section(relocTarget))
				}
				if !errors.Is(err, c.want) {
					t.Fatalf("error %v, want %v", err, c.want)
				}
				if msg := c.msg(t, l); !strings.Contains(err.Error(), msg) {
					t.Fatalf("error %q does not contain %q", err, msg)
				}
			})
		}
	}
}
