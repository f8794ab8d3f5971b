package elfsym

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
)

// TestFuncOffset builds small programs with gcc (a PIE, a
// position-dependent executable, a shared object, a stripped PIE) and
// checks each function's file offset against the one its section gives.
func TestFuncOffset(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skipf("no gcc: %v", err)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "f.c")
	code := `
__attribute__((noipa)) int rawload_fn(int x) { return x * 3 + 1; }
__attribute__((weak)) int rawload_weak(int x) { return x; }
int rawload_data = 5;
int main(void) { return rawload_fn(rawload_data) + rawload_weak(1); }
`
	if err := os.WriteFile(src, []byte(code), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, flags := range map[string][]string{
		"pie":      {"-fPIE", "-pie"},
		"nopie":    {"-fno-PIE", "-no-pie"},
		"shared":   {"-shared", "-fPIC"},
		"stripped": {"-fPIE", "-pie", "-s", "-rdynamic"},
	} {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(dir, name)
			args := append([]string{"-O1", "-o", out, src}, flags...)
			if msg, err := exec.Command(gcc, args...).CombinedOutput(); err != nil {
				t.Fatalf("gcc: %v\n%s", err, msg)
			}
			f, err := Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for _, fnName := range []string{"rawload_fn", "rawload_weak"} {
				fn, err := f.FuncOffset(fnName)
				if err != nil {
					t.Fatal(err)
				}
				if want := sectionOffset(t, out, fnName); fn.Offset != want {
					t.Errorf("%s: file offset %#x, its section says %#x", fnName, fn.Offset, want)
				}
			}
			if _, err := f.FuncOffset("rawload_data"); !errors.Is(err, ErrNotFound) {
				t.Errorf("a variable taken for a function: %v", err)
			}
			if _, err := f.SymbolAddr("rawload_data"); err != nil {
				t.Errorf("SymbolAddr(rawload_data): %v", err)
			}
			if _, err := f.FuncOffset("no_such_function"); !errors.Is(err, ErrNotFound) {
				t.Errorf("missing function: %v", err)
			}
			funcs, err := f.MatchFuncs("rawload_*")
			if err != nil || len(funcs) != 2 {
				t.Errorf("MatchFuncs(rawload_*): %+v, %v", funcs, err)
			}
			if _, err := f.MatchFuncs("["); err == nil {
				t.Error("a bad pattern was accepted")
			}
			if probes, err := f.USDTProbes(); err != nil || len(probes) != 0 {
				t.Errorf("USDT probes of a file without: %v, %v", probes, err)
			}
		})
	}
}

// sectionOffset is where a symbol is in the file by its section, the
// other way to find it.
func sectionOffset(t *testing.T, path, name string) uint64 {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, _ := f.Symbols()
	dyn, _ := f.DynamicSymbols()
	for _, s := range append(syms, dyn...) {
		if s.Name == name && int(s.Section) < len(f.Sections) {
			sec := f.Sections[s.Section]
			return s.Value - sec.Addr + sec.Offset
		}
	}
	t.Fatalf("no symbol %s in %s", name, path)
	return 0
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open("/no/such/file"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := NewFile(bytes.NewReader([]byte("not an ELF file at all")), "junk"); err == nil {
		t.Error("junk accepted")
	}
}

// note builds one note of a .note.stapsdt section.
func note(name string, typ uint32, desc []byte) []byte {
	var b []byte
	le := binary.LittleEndian
	nameBytes := append([]byte(name), 0)
	b = le.AppendUint32(b, uint32(len(nameBytes)))
	b = le.AppendUint32(b, uint32(len(desc)))
	b = le.AppendUint32(b, typ)
	b = append(b, nameBytes...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	b = append(b, desc...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func stapsdtDesc(pc, base, sema uint64, strs ...string) []byte {
	le := binary.LittleEndian
	d := le.AppendUint64(nil, pc)
	d = le.AppendUint64(d, base)
	d = le.AppendUint64(d, sema)
	for _, s := range strs {
		d = append(append(d, s...), 0)
	}
	return d
}

func TestParseNotes(t *testing.T) {
	le := binary.LittleEndian
	data := append(note("stapsdt", 3, stapsdtDesc(0x1000, 0x2000, 0x3000, "prov", "name", "-4@%edi 8@$5")),
		note("GNU", 3, []byte{1, 2, 3, 4})...)
	data = append(data, note("stapsdt", 3, stapsdtDesc(0x1010, 0, 0, "prov", "other", ":"))...)
	notes, err := parseNotes(data, le.Uint32, le.Uint64, 8)
	if err != nil {
		t.Fatal(err)
	}
	want := []stapsdtNote{
		{pc: 0x1000, base: 0x2000, semaphore: 0x3000, provider: "prov", name: "name", args: "-4@%edi 8@$5"},
		{pc: 0x1010, provider: "prov", name: "other"},
	}
	if !reflect.DeepEqual(notes, want) {
		t.Errorf("notes %+v\nwant %+v", notes, want)
	}
	for _, bad := range [][]byte{
		data[:5],                            // a cut header
		note("stapsdt", 3, []byte{1, 2, 3}), // description too short
		note("stapsdt", 3, stapsdtDesc(1, 2, 3, "", "name", "")),           // no provider
		note("stapsdt", 3, append(stapsdtDesc(1, 2, 3, "p"), 'n', 'o')),    // unterminated name
		append(le.AppendUint32(le.AppendUint32(nil, 8), 0xffffff00), 3, 0), // description past the end
	} {
		if n, err := parseNotes(bad, le.Uint32, le.Uint64, 8); err == nil {
			t.Errorf("% x accepted: %+v", bad, n)
		}
	}
}

func FuzzParseNotes(f *testing.F) {
	le := binary.LittleEndian
	f.Add(note("stapsdt", 3, stapsdtDesc(0x1000, 0x2000, 0x3000, "prov", "name", "-4@%edi")), true)
	f.Add(note("stapsdt", 3, stapsdtDesc(0x1000, 0, 0, "p", "n", "")), false)
	f.Fuzz(func(t *testing.T, data []byte, wide bool) {
		size := 4
		if wide {
			size = 8
		}
		parseNotes(data, le.Uint32, le.Uint64, size)
	})
}

// TestFileOffset translates addresses through the segments of a
// synthetic program header table.
func TestFileOffset(t *testing.T) {
	f := &File{Name: "synthetic", elf: &elf.File{Progs: []*elf.Prog{
		{ProgHeader: elf.ProgHeader{Type: elf.PT_LOAD, Flags: elf.PF_R, Vaddr: 0, Off: 0, Filesz: 0x1000}},
		{ProgHeader: elf.ProgHeader{Type: elf.PT_LOAD, Flags: elf.PF_R | elf.PF_X, Vaddr: 0x401000, Off: 0x1000, Filesz: 0x2000}},
		{ProgHeader: elf.ProgHeader{Type: elf.PT_LOAD, Flags: elf.PF_R | elf.PF_W, Vaddr: 0x404e10, Off: 0x3e10, Filesz: 0x200}},
	}}}
	if off, err := f.FileOffset(0x401087, true); err != nil || off != 0x1087 {
		t.Errorf("code: %#x, %v", off, err)
	}
	if off, err := f.FileOffset(0x404e20, false); err != nil || off != 0x3e20 {
		t.Errorf("data: %#x, %v", off, err)
	}
	if _, err := f.FileOffset(0x404e20, true); err == nil {
		t.Error("data taken for code")
	}
	if _, err := f.FileOffset(0x500000, true); err == nil {
		t.Error("an unmapped address was translated")
	}
}
