package gen

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf/btf"

	"github.com/rawload/rawload/bpf"
	"github.com/rawload/rawload/internal/testutil"
)

// corpusRefused are the corpus objects Generate refuses, each with what
// its error must say. Any other error fails TestCorpusCompiles, and so
// does an object listed here that generates. None is at present: an
// object without BTF (cilium's loader_nobtf-el.elf) gets plain
// *bpf.Map and *bpf.Variable fields, and a map or variable whose BTF
// type has no Go type would be refused, but none in the corpus has one.
var corpusRefused = map[string]string{}

// corpusObject is one little-endian BPF object of the corpus.
type corpusObject struct {
	name string // "testdata/gen.o", "cilium/btf/testdata/relocs-el.elf"
	path string
}

// corpusObjects finds every little-endian object the corpus holds: the
// repository's testdata/*.o (not the seeds, not *-eb.o), this package's
// testdata/edge.o, and cilium/ebpf's testdata/*.elf and
// btf/testdata/*.elf (not *-eb.elf).
func corpusObjects(t *testing.T) []corpusObject {
	t.Helper()
	var objs []corpusObject
	add := func(prefix, pattern string, skip func(string) bool) {
		paths, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range paths {
			base := filepath.Base(path)
			if skip(base) {
				continue
			}
			objs = append(objs, corpusObject{name: prefix + base, path: path})
		}
	}
	ours := filepath.Join("..", "..", "testdata")
	add("testdata/", filepath.Join(ours, "*.o"), func(base string) bool {
		return strings.HasSuffix(base, "-eb.o")
	})
	add("bpf/gen/testdata/", filepath.Join("testdata", "*.o"), func(string) bool { return false })
	dir, err := testutil.CiliumDir()
	if err != nil {
		t.Fatalf("finding cilium/ebpf's module (a dependency): %v", err)
	}
	bigEndian := func(base string) bool { return strings.HasSuffix(base, "-eb.elf") }
	add("cilium/testdata/", filepath.Join(dir, "testdata", "*.elf"), bigEndian)
	add("cilium/btf/testdata/", filepath.Join(dir, "btf", "testdata", "*.elf"), bigEndian)
	if len(objs) < 40 {
		t.Fatalf("only %d corpus objects found", len(objs))
	}
	return objs
}

// allTypes names every struct, union, enum and typedef of the object's
// BTF as Options.Types takes them, leaving out the names that would be
// ambiguous there (a typedef and a struct of the same name, two structs
// of one name in a linked object) and typedefs of what has no Go type
// (functions, void, a struct declared but not defined), which Generate
// refuses.
func allTypes(t *testing.T, data []byte) []string {
	t.Helper()
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(data))
	if err != nil {
		return nil
	}
	count := map[string]int{}  // "struct x", and "x" for every kind
	tagged := map[string]int{} // "x" of structs, unions, enums
	var names []string
	// By ID rather than with spec.All, which stops at the first type
	// cilium/ebpf cannot decode (a .ksyms DATASEC of functions).
	for id := btf.TypeID(1); ; id++ {
		typ, err := spec.TypeByID(id)
		if errors.Is(err, btf.ErrNotFound) {
			break
		} else if err != nil {
			continue
		}
		name := typ.TypeName()
		if name == "" {
			continue
		}
		switch typ.(type) {
		case *btf.Struct, *btf.Union, *btf.Enum:
			c := cName(typ, "")
			if count[c]++; count[c] == 1 {
				names = append(names, c)
			}
			tagged[name]++
			count[name]++
		case *btf.Typedef:
			count[name]++
			switch btf.UnderlyingType(typ).(type) {
			case *btf.FuncProto, *btf.Void, *btf.Fwd:
				continue
			}
			if count[name] == 1 {
				names = append(names, name)
			}
		}
	}
	var unique []string
	for _, n := range names {
		if kind, _, ok := strings.Cut(n, " "); ok && kind != "" {
			if count[n] == 1 {
				unique = append(unique, n)
			}
			continue
		}
		if count[n] == 1 && tagged[n] == 0 {
			unique = append(unique, n)
		}
	}
	slices.Sort(unique)
	return unique
}

// generateSafely calls Generate and turns a panic into an error that
// says where.
func generateSafely(data []byte, opts Options) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return Generate(data, opts)
}

// binding is one generated file of TestCorpusCompiles.
type binding struct {
	object string // the corpus object
	data   []byte
	file   string // Options.ObjectFile
	types  []string
	pkg    string
	// build says whether go build compiles it too: one binding per
	// object, the one with the most types.
	build bool
}

// TestCorpusCompiles generates the bindings of every little-endian
// object of the corpus, plainly and with every named C type asked for
// (and edge.o under a file name that needs quoting), and compiles them
// in a directory of this module the test makes and removes (its name
// starts with '_', so the ./... patterns of a concurrent go command do
// not see it): go vet type-checks and vets each binding as a package of
// its own, as the names are generated; go build compiles one binding
// of each object (the most types, and the quoted file name) in one
// package, each under a --name of its own. (The compiler's back end
// takes most of the time: every typed wrapper gets the promoted methods
// of *bpf.Map.)
func TestCorpusCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds generated packages")
	}
	objs := corpusObjects(t)
	var bindings []binding
	for _, o := range objs {
		data, err := os.ReadFile(o.path)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) <= elf.EI_DATA || elf.Data(data[elf.EI_DATA]) != elf.ELFDATA2LSB {
			t.Errorf("%s: not a little-endian ELF file", o.name)
			continue
		}
		pkg := fmt.Sprintf("p%02d", len(bindings))
		base := filepath.Base(o.path)
		types := allTypes(t, data)
		bindings = append(bindings, binding{o.name, data, base, nil, pkg, len(types) == 0})
		if len(types) > 0 {
			bindings = append(bindings, binding{o.name, data, base, types, pkg + "t", true})
		}
		if base == "edge.o" {
			bindings = append(bindings, binding{o.name, data, "edge 100%.o", nil, pkg + "n", true})
		}
	}

	root, err := os.MkdirTemp("internal", "_corpus")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	all := filepath.Join(root, "all")
	if err := os.Mkdir(all, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(path string, data []byte) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var pkgs []string
	names := map[string]string{} // package or file -> corpus object, for errors
	refused := map[string]bool{}
	for i, b := range bindings {
		out, err := generateSafely(b.data, Options{Package: b.pkg, ObjectFile: b.file, Types: b.types})
		if err != nil {
			reason, expected := corpusRefused[b.object]
			switch {
			case !expected || strings.HasPrefix(err.Error(), "panic: "):
				t.Errorf("%s (types %q): %v", b.object, b.types, err)
			case !strings.Contains(err.Error(), reason):
				t.Errorf("%s: %v, want an error saying %q", b.object, err, reason)
			default:
				t.Logf("%s: refused as expected: %v", b.object, err)
				refused[b.object] = true
			}
			continue
		}
		checkFormatted(t, b.object, out)
		checkUnique(t, b.object, out)
		dir := filepath.Join(root, b.pkg)
		write(filepath.Join(dir, b.file), b.data)
		write(filepath.Join(dir, b.pkg+"_bpf.go"), out)
		pkgs = append(pkgs, "./"+filepath.ToSlash(dir))
		names[b.pkg] = b.object
		if !b.build {
			continue
		}

		// The same in the one package, under a name no other prefix
		// starts, with its object in a directory of its own.
		name := fmt.Sprintf("B%04d", i)
		out, err = Generate(b.data, Options{Package: "all", Name: name, ObjectFile: b.pkg + "/" + b.file, Types: b.types})
		if err != nil {
			t.Errorf("%s as %s: %v", b.object, name, err)
			continue
		}
		write(filepath.Join(all, b.pkg, b.file), b.data)
		write(filepath.Join(all, b.pkg+"_bpf.go"), out)
		names[b.pkg+"_bpf.go"] = b.object
	}
	for name := range corpusRefused {
		if !refused[name] {
			t.Errorf("%s is listed in corpusRefused but generated, or is not in the corpus", name)
		}
	}
	if len(pkgs) == 0 {
		t.Fatal("nothing generated")
	}
	start := time.Now()
	var vetTime time.Duration
	if out, err := exec.Command("go", append([]string{"vet"}, pkgs...)...).CombinedOutput(); err != nil {
		t.Errorf("go vet of the generated packages: %v\n%s", err, annotate(string(out), names))
	}
	vetTime, start = time.Since(start), time.Now()
	if out, err := exec.Command("go", "build", "./"+filepath.ToSlash(all)).CombinedOutput(); err != nil {
		t.Errorf("go build of the generated package: %v\n%s", err, annotate(string(out), names))
	}
	t.Logf("%d objects (%d refused), %d bindings vetted in %v, built in %v",
		len(objs), len(refused), len(pkgs), vetTime.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

// annotate names the corpus object of each generated package or file
// go's output mentions.
func annotate(out string, names map[string]string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(out, "\n") {
		b.WriteString(line)
		for pkg, name := range names {
			if strings.Contains(line, "/"+pkg+"/") || strings.Contains(line, "/"+pkg+":") || strings.HasSuffix(strings.TrimSpace(line), "/"+pkg) {
				fmt.Fprintf(&b, "\t(%s is %s)\n", pkg, name)
				break
			}
		}
	}
	return b.String()
}

// checkUnique fails if the file declares a package-level identifier
// twice, or a type two fields or methods of one name; the compiler
// would say so too, but not as plainly.
func checkUnique(t *testing.T, name string, src []byte) {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.SkipObjectResolution)
	if err != nil {
		return // checkFormatted said so
	}
	seen := map[string]bool{}
	claim := func(id string) {
		if strings.HasSuffix(id, "_") {
			return // "_", or padding "T._"
		}
		if seen[id] {
			t.Errorf("%s: %s declared twice", name, id)
		}
		seen[id] = true
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				claim(d.Name.Name)
				continue
			}
			recv := d.Recv.List[0].Type
			if star, ok := recv.(*ast.StarExpr); ok {
				recv = star.X
			}
			if id, ok := recv.(*ast.Ident); ok {
				claim(id.Name + "." + d.Name.Name)
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					claim(s.Name.Name)
					st, ok := s.Type.(*ast.StructType)
					if !ok {
						continue
					}
					for _, f := range st.Fields.List {
						for _, n := range f.Names {
							claim(s.Name.Name + "." + n.Name)
						}
						if len(f.Names) == 0 { // embedded: *bpf.Object
							if sel, ok := ast.Unparen(f.Type).(*ast.StarExpr); ok {
								if x, ok := sel.X.(*ast.SelectorExpr); ok {
									claim(s.Name.Name + "." + x.Sel.Name)
								}
							}
						}
					}
				case *ast.ValueSpec:
					for _, n := range s.Names {
						claim(n.Name)
					}
				}
			}
		}
	}
}

// TestHostileInput generates the bindings of a few hundred truncated,
// bit-flipped and renamed copies of gen.o: Generate may refuse them but
// must not panic, and what it returns must parse and be gofmt-formatted.
func TestHostileInput(t *testing.T) {
	orig := testObject(t, "gen.o")
	opts := Options{Package: "p", ObjectFile: "gen.o", Types: []string{"event", "enum kind", "owner_t"}}
	if _, err := Generate(orig, opts); err != nil {
		t.Fatal(err)
	}
	// The bytes worth flipping most: the ELF header, the section
	// headers, and the BTF, BTF.ext, symbol and string tables.
	var regions [][2]int
	regions = append(regions, [2]int{0, 64})
	f, err := elf.NewFile(bytes.NewReader(orig))
	if err != nil {
		t.Fatal(err)
	}
	// The section header table: e_shoff, e_shentsize and e_shnum of
	// the 64-bit header.
	shoff := int(binary.LittleEndian.Uint64(orig[0x28:]))
	shsize := int(binary.LittleEndian.Uint16(orig[0x3a:])) * int(binary.LittleEndian.Uint16(orig[0x3c:]))
	if shoff > 0 && shoff+shsize <= len(orig) {
		regions = append(regions, [2]int{shoff, shoff + shsize})
	}
	for _, s := range f.Sections {
		switch s.Name {
		case ".BTF", ".BTF.ext", ".symtab", ".strtab", ".maps", ".rodata", ".data", ".bss":
			if s.Type != elf.SHT_NOBITS && s.Size > 0 {
				regions = append(regions, [2]int{int(s.Offset), int(s.Offset + s.Size)})
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var variants [][]byte
	// Truncations: every 97th length, and the region boundaries.
	for n := 0; n < len(orig); n += 97 {
		variants = append(variants, orig[:n:n])
	}
	for _, r := range regions {
		for _, n := range []int{r[0], r[0] + 1, r[1] - 1} {
			if n > 0 && n < len(orig) {
				variants = append(variants, orig[:n:n])
			}
		}
	}
	// Names a comment cannot hold as they are (a newline, a byte that
	// is not UTF-8) or that Go quotes: one byte of each copy of a C
	// name in the string tables replaced.
	for _, name := range []string{"flow_key", "flow_stats", "level", "tail", "as_u64", "KIND_OPEN", "owner_t", "flows", "cfg", "gen_echo"} {
		for off := 0; ; {
			i := bytes.Index(orig[off:], []byte("\x00"+name+"\x00"))
			if i < 0 {
				break
			}
			for _, c := range []byte{'\n', 0xff, '"', '%', '`'} {
				v := bytes.Clone(orig)
				v[off+i+2] = c
				variants = append(variants, v)
			}
			off += i + 1
		}
	}
	// Bit flips: one to eight at a time, mostly in the regions above.
	for range 400 {
		v := bytes.Clone(orig)
		for range 1 + rng.IntN(8) {
			var i int
			if rng.IntN(4) == 0 {
				i = rng.IntN(len(v))
			} else {
				r := regions[rng.IntN(len(regions))]
				i = r[0] + rng.IntN(r[1]-r[0])
			}
			v[i] ^= 1 << rng.IntN(8)
		}
		variants = append(variants, v)
	}
	generated := 0
	for i, v := range variants {
		name := fmt.Sprintf("variant %d (%d bytes)", i, len(v))
		for _, o := range []Options{opts, {Package: "p", ObjectFile: "gen.o"}} {
			out, err := generateSafely(v, o)
			if err != nil {
				if strings.HasPrefix(err.Error(), "panic: ") {
					t.Errorf("%s: %v", name, err)
				}
				continue
			}
			generated++
			checkFormatted(t, name, out)
			checkUnique(t, name, out)
		}
	}
	t.Logf("%d variants, %d generated", len(variants), generated)
	if generated == 0 {
		t.Error("no variant generated: the mutations are too heavy to test the output")
	}
}

// What edge.o's bindings must hold, beyond compiling.
func TestEdgeObject(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "edge.o"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Generate(data, Options{Package: "p", ObjectFile: "edge.o", Types: []string{"struct all", "struct ualign", "struct uonly", "struct flav"}})
	if err != nil {
		t.Fatal(err)
	}
	src := string(out)
	for _, want := range []string{
		// An __int128 bitfield of up to 64 bits reads as a 64-bit
		// integer; a wider one has no accessors.
		"func (s *EdgeWide) Sbig() int64 {",
		"func (s *EdgeWide) Small() uint64 {",
		// A union's most aligned member holds its bytes, also from an
		// anonymous struct, at any offset, or when it is alone.
		"type EdgeUalign struct {\n\tIa int32\n\t_  [4]byte\n}",
		"type EdgeUonly struct {\n\t_  [8]byte\n\tHi uint64\n}",
		"func (s *EdgeUonly) Lo() *uint16 {",
		// Names of maps, programs and variables that would hide a
		// method of *bpf.Object, or clash with each other.
		"\tCloseMap     EdgeCloseMap\n",
		"\tMapVar       EdgeMapVar\n",
		// 1- and 8-byte enums, signed and unsigned.
		"EdgeBigMax EdgeBig64 = 18446744073709551615",
		"EdgeNegMin EdgeNeg64 = -9223372036854775808",
		"EdgeSs8A EdgeSigned8 = -100",
		"func (s *EdgeAll) Ss8b() EdgeSigned8 {",
		// struct flav, not one of its CO-RE flavors.
		"type EdgeFlav struct {\n\tC int32\n}",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("edge.o bindings lack %q", want)
		}
	}
	if strings.Contains(src, "Big() ") {
		t.Error("an accessor for the 100-bit bitfield big")
	}
	// A function type has no Go type: asked for by name, it is refused.
	for typ, want := range map[string]string{
		"fn_t":     "no Go type for anonymous funcproto",
		"opaque_t": "no Go type for fwd opaque",
	} {
		if _, err := Generate(data, Options{Package: "p", ObjectFile: "edge.o", Types: []string{typ}}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("--type %s: %v, want an error saying %q", typ, err, want)
		}
	}
}

// Names from the command line that Go cannot take as they are: a package
// name is refused, an object file name quoted where it appears.
func TestOptionNames(t *testing.T) {
	data := testObject(t, "gen.o")
	for _, pkg := range []string{"my-pkg", "1p", "type", "_", "p q"} {
		if _, err := Generate(data, Options{Package: pkg, ObjectFile: "gen.o"}); err == nil || !strings.Contains(err.Error(), "not a Go identifier") {
			t.Errorf("package %q: %v, want an error", pkg, err)
		}
	}
	for _, pkg := range []string{"p", "main", "gen_test", "Pkg2", "bpf"} {
		if _, err := Generate(data, Options{Package: pkg, ObjectFile: "gen.o"}); err != nil {
			t.Errorf("package %q: %v", pkg, err)
		}
	}
	out, err := Generate(data, Options{Package: "p", ObjectFile: "my \"gen\" 100%.o", Name: "gen", Command: "rawload gen\nevil"})
	if err != nil {
		t.Fatal(err)
	}
	checkFormatted(t, "odd names", out)
	for _, want := range []string{
		"// Code generated by \"rawload gen\\nevil\"; DO NOT EDIT.\n",
		"//go:embed \"my \\\"gen\\\" 100%.o\"\n",
		"fmt.Errorf(\"my \\\"gen\\\" 100%%.o: %w\", err)",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("bindings lack %q:\n%s", want, out)
		}
	}
}

// No field of the Objects struct may hide a method of *bpf.Object: the
// names reserved for them are all its methods.
func TestObjectMethods(t *testing.T) {
	typ := reflect.TypeFor[*bpf.Object]()
	for i := range typ.NumMethod() {
		if name := typ.Method(i).Name; !slices.Contains(objectMethods, name) {
			t.Errorf("*bpf.Object has method %s, which objectMethods lacks", name)
		}
	}
}
