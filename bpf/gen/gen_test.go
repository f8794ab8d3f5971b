package gen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rawload/rawload/internal/testutil"
)

func TestGoName(t *testing.T) {
	for c, want := range map[string]string{
		"handle_exec":    "HandleExec",
		".rodata":        "Rodata",
		".data.extra":    "DataExtra",
		"KIND_OPEN":      "KindOpen",
		"ifIndex":        "IfIndex",
		"as_u32":         "AsU32",
		"__u64":          "U64",
		"BPF_F_RDONLY":   "BpfFRdonly",
		"x86_64":         "X86_64",
		"9lives":         "X9lives",
		"...":            "X",
		"ALLCAPS_then_x": "AllcapsThenX",
	} {
		if got := goName(c); got != want {
			t.Errorf("goName(%q) = %q, want %q", c, got, want)
		}
	}
}

func TestNamespace(t *testing.T) {
	ns := namespace{}
	ns.reserve("Close")
	got := []string{ns.claim("Events"), ns.claim("Events", "Map"), ns.claim("Events", "Map"), ns.claim("Close"), ns.claim("Events")}
	want := []string{"Events", "EventsMap", "Events2", "Close2", "Events3"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("claims gave %v, want %v", got, want)
	}
}

func testObject(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Generating twice gives the same bytes: map iteration never reaches the
// output.
func TestDeterministic(t *testing.T) {
	data := testObject(t, "gen.o")
	opts := Options{Package: "p", ObjectFile: "gen.o", Types: []string{"event", "enum kind", "owner_t"}}
	first, err := Generate(data, opts)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, err := Generate(data, opts)
		if err != nil {
			t.Fatal(err)
		}
		if string(again) != string(first) {
			t.Fatal("two runs differ")
		}
	}
	// A typedef of an integer asked for by name is an alias.
	if !strings.Contains(string(first), "type GenOwnerT = uint32\n") {
		t.Error("no alias for --type owner_t")
	}
}

func TestTypeErrors(t *testing.T) {
	data := testObject(t, "gen.o")
	for typ, want := range map[string]string{
		"no_such_type":   "no struct, union, enum or typedef",
		"union config":   "no struct, union, enum or typedef",
		"struct nothing": "no struct, union, enum or typedef",
	} {
		_, err := Generate(data, Options{Package: "p", ObjectFile: "gen.o", Types: []string{typ}})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), typ) {
			t.Errorf("--type %s: %v, want an error naming it and saying %q", typ, err, want)
		}
	}
	if _, err := Generate(data, Options{ObjectFile: "gen.o"}); err == nil {
		t.Error("no package: no error")
	}
	if _, err := Generate([]byte("not an object"), Options{Package: "p", ObjectFile: "x.o"}); err == nil || !strings.Contains(err.Error(), "x.o") {
		t.Errorf("garbage: %v, want an error naming x.o", err)
	}
}

// An object without key and value types (legacy maps) gets plain
// *bpf.Map fields.
func TestLegacyMaps(t *testing.T) {
	out, err := Generate(testObject(t, "legacy.o"), Options{Package: "p", ObjectFile: "legacy.o"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "*bpf.Map\n") || strings.Contains(string(out), "\"iter\"") {
		t.Errorf("legacy.o bindings:\n%s", out)
	}
}

// Every committed test object generates, and the output is formatted.
func TestAllTestdata(t *testing.T) {
	objs, err := filepath.Glob(filepath.Join("..", "..", "testdata", "*.o"))
	if err != nil || len(objs) == 0 {
		t.Fatal(objs, err)
	}
	for _, path := range objs {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(path)
		out, err := Generate(data, Options{Package: "p", ObjectFile: name})
		if err != nil {
			t.Logf("%s: %v", name, err)
			continue
		}
		checkFormatted(t, name, out)
	}
}

// cilium/ebpf's test objects generate formatted source too (they also
// compile: checked by hand when this was written, not on every run).
func TestCiliumObjects(t *testing.T) {
	dir, err := testutil.CiliumDir()
	if err != nil {
		t.Skip(err)
	}
	objs, _ := filepath.Glob(filepath.Join(dir, "testdata", "*-el.elf"))
	more, _ := filepath.Glob(filepath.Join(dir, "btf", "testdata", "*-el.elf"))
	for _, path := range append(objs, more...) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		out, err := Generate(data, Options{Package: "p", ObjectFile: filepath.Base(path)})
		if err != nil {
			t.Logf("%s: %v", filepath.Base(path), err)
			continue
		}
		checkFormatted(t, filepath.Base(path), out)
	}
}
