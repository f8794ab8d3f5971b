// Package elfsym reads where things are in an executable or shared
// object: the file offset of a function, for uprobes, and the USDT probes
// of its .note.stapsdt section, for usdt. The kernel places uprobes by
// file offset, so every address the ELF file gives is translated through
// the PT_LOAD segment that maps it, which handles position-dependent
// executables, PIE executables and shared objects alike.
package elfsym

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
)

// ErrNotFound is returned for a function or probe the file does not have.
var ErrNotFound = errors.New("not found")

// File is an ELF executable or shared object opened for reading symbols.
type File struct {
	elf    *elf.File
	closer io.Closer
	// Name is the path it was opened from, for errors.
	Name string
}

// Open opens the ELF file at path.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	ef, err := NewFile(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	ef.closer = f
	return ef, nil
}

// NewFile reads an ELF file from r; name is for errors.
func NewFile(r io.ReaderAt, name string) (*File, error) {
	ef, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("%s: not an ELF file: %w", name, err)
	}
	switch ef.Type {
	case elf.ET_EXEC, elf.ET_DYN:
	default:
		return nil, fmt.Errorf("%s: ELF type %v: neither an executable nor a shared object", name, ef.Type)
	}
	return &File{elf: ef, Name: name}, nil
}

// Close closes the file Open opened.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	return f.closer.Close()
}

// Type is the ELF type: ET_EXEC for a position-dependent executable,
// ET_DYN for PIE executables and shared objects.
func (f *File) Type() elf.Type { return f.elf.Type }

// Func is a function of the file.
type Func struct {
	Name   string
	Addr   uint64 // st_value, the link-time address
	Offset uint64 // where its first instruction is in the file
}

// symbols are the FUNC symbols of .symtab and of .dynsym, defined in the
// file, in that order; a file stripped of .symtab still has .dynsym.
func (f *File) symbols() (symtab, dynsym []elf.Symbol) {
	keep := func(syms []elf.Symbol) []elf.Symbol {
		return slices.DeleteFunc(syms, func(s elf.Symbol) bool {
			return elf.ST_TYPE(s.Info) != elf.STT_FUNC || s.Section == elf.SHN_UNDEF || s.Value == 0
		})
	}
	st, _ := f.elf.Symbols()
	ds, _ := f.elf.DynamicSymbols()
	return keep(st), keep(ds)
}

// baseName is a symbol's name without a symbol version: .symtab spells
// versioned definitions "name@VERSION" or "name@@VERSION".
func baseName(name string) string {
	base, _, _ := strings.Cut(name, "@")
	return base
}

// FuncOffset finds the function name, in .symtab and else in .dynsym,
// and returns the file offset of its first instruction. A name defined at
// two addresses is ambiguous unless exactly one of them is a global
// symbol (a global beats a weak or local definition, as in libbpf).
func (f *File) FuncOffset(name string) (Func, error) {
	symtab, dynsym := f.symbols()
	for _, syms := range [][]elf.Symbol{symtab, dynsym} {
		var found []elf.Symbol
		for _, s := range syms {
			if s.Name == name || baseName(s.Name) == name {
				found = append(found, s)
			}
		}
		if len(found) == 0 {
			continue
		}
		s, err := pick(name, found)
		if err != nil {
			return Func{}, fmt.Errorf("%s: %w", f.Name, err)
		}
		off, err := f.FileOffset(s.Value, true)
		if err != nil {
			return Func{}, fmt.Errorf("%s: function %s: %w", f.Name, name, err)
		}
		return Func{Name: name, Addr: s.Value, Offset: off}, nil
	}
	where := ".symtab and .dynsym"
	if len(symtab) == 0 {
		where = ".dynsym (the file has no .symtab: stripped?)"
	}
	return Func{}, fmt.Errorf("%s: no function %s in %s: %w", f.Name, name, where, ErrNotFound)
}

// pick chooses among the definitions of one name.
func pick(name string, found []elf.Symbol) (elf.Symbol, error) {
	distinct := func(syms []elf.Symbol) []elf.Symbol {
		var out []elf.Symbol
		for _, s := range syms {
			if !slices.ContainsFunc(out, func(o elf.Symbol) bool { return o.Value == s.Value }) {
				out = append(out, s)
			}
		}
		return out
	}
	all := distinct(found)
	if len(all) == 1 {
		return all[0], nil
	}
	global := distinct(slices.DeleteFunc(slices.Clone(found), func(s elf.Symbol) bool {
		return elf.ST_BIND(s.Info) != elf.STB_GLOBAL
	}))
	if len(global) == 1 {
		return global[0], nil
	}
	addrs := make([]string, len(all))
	for i, s := range all {
		addrs[i] = fmt.Sprintf("%#x", s.Value)
	}
	return elf.Symbol{}, fmt.Errorf("%s is defined at %d addresses (%s): ambiguous", name, len(all), strings.Join(addrs, ", "))
}

// SymbolAddr finds the link-time address of a symbol defined in the file,
// a function or an object, in .symtab and else in .dynsym.
func (f *File) SymbolAddr(name string) (uint64, error) {
	st, _ := f.elf.Symbols()
	ds, _ := f.elf.DynamicSymbols()
	for _, syms := range [][]elf.Symbol{st, ds} {
		var found []elf.Symbol
		for _, s := range syms {
			switch elf.ST_TYPE(s.Info) {
			case elf.STT_SECTION, elf.STT_FILE, elf.STT_TLS:
				continue
			}
			if s.Section == elf.SHN_UNDEF || (s.Name != name && baseName(s.Name) != name) {
				continue
			}
			found = append(found, s)
		}
		if len(found) > 0 {
			s, err := pick(name, found)
			if err != nil {
				return 0, fmt.Errorf("%s: %w", f.Name, err)
			}
			return s.Value, nil
		}
	}
	return 0, fmt.Errorf("%s: no symbol %s: %w", f.Name, name, ErrNotFound)
}

// MatchFuncs returns the functions whose names match the glob pattern
// (path.Match syntax: *, ?, [...]), each once, by file offset. .symtab
// and .dynsym are both searched: a function only .dynsym lists counts.
func (f *File) MatchFuncs(pattern string) ([]Func, error) {
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, fmt.Errorf("pattern %q: %w", pattern, err)
	}
	symtab, dynsym := f.symbols()
	byOffset := map[uint64]Func{}
	for _, s := range append(symtab, dynsym...) {
		name := baseName(s.Name)
		if ok, _ := path.Match(pattern, name); !ok {
			continue
		}
		off, err := f.FileOffset(s.Value, true)
		if err != nil {
			continue // not in an executable segment: not code we can probe
		}
		if _, dup := byOffset[off]; !dup {
			byOffset[off] = Func{Name: name, Addr: s.Value, Offset: off}
		}
	}
	if len(byOffset) == 0 {
		return nil, fmt.Errorf("%s: no function matches %q: %w", f.Name, pattern, ErrNotFound)
	}
	funcs := make([]Func, 0, len(byOffset))
	for _, fn := range byOffset {
		funcs = append(funcs, fn)
	}
	sort.Slice(funcs, func(i, j int) bool { return funcs[i].Offset < funcs[j].Offset })
	return funcs, nil
}

// FileOffset translates a link-time address into a file offset through
// the PT_LOAD segment that maps it; exec says whether that segment must
// be executable (code) or must not be (data, such as a USDT semaphore).
func (f *File) FileOffset(addr uint64, exec bool) (uint64, error) {
	for _, p := range f.elf.Progs {
		if p.Type != elf.PT_LOAD || addr < p.Vaddr || addr-p.Vaddr >= p.Filesz {
			continue
		}
		if isExec := p.Flags&elf.PF_X != 0; isExec != exec {
			what := "not executable"
			if isExec {
				what = "executable"
			}
			return 0, fmt.Errorf("address %#x is in a segment that is %s", addr, what)
		}
		return addr - p.Vaddr + p.Off, nil
	}
	return 0, fmt.Errorf("address %#x is in no loadable segment of the file", addr)
}

// Arch names the file's machine as GOARCH does ("amd64", "arm64"), "" for
// one this package does not name.
func (f *File) Arch() string {
	switch f.elf.Machine {
	case elf.EM_X86_64:
		return "amd64"
	case elf.EM_386:
		return "386"
	case elf.EM_AARCH64:
		return "arm64"
	case elf.EM_S390:
		return "s390x"
	case elf.EM_RISCV:
		return "riscv64"
	case elf.EM_PPC64:
		return "ppc64le"
	}
	return ""
}
