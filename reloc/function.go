package reloc

import (
	"fmt"
	"slices"
	"sort"

	"github.com/rawload/rawload/elf"
)

const insnSize = 8

// funcKey identifies a function by its section and first instruction.
type funcKey struct {
	section int
	insn    uint64
}

// function is one STT_FUNC symbol's instructions, with the relocations
// that fall inside it. Programs are functions of sections other than
// .text; every function can be a subprogram.
type function struct {
	key     funcKey
	name    string
	section *elf.Section
	insns   []byte // view into the section
	hidden  bool   // a global function the object does not export
	relocs  []relocation
	// err is a problem with one of its relocations, reported when a
	// program that needs this function is loaded.
	err error
	// ext are its ext info records, once functionExtInfos has run;
	// rawExt, once functionRawExt has, on the passthrough path.
	ext    *extInfo
	rawExt *rawFuncExt
}

func (fn *function) String() string {
	return fmt.Sprintf("function %q (section %s, offset %#x)", fn.name, fn.section.Name, fn.key.insn*insnSize)
}

// collectFunctions splits every executable section at its STT_FUNC symbols.
func (l *linker) collectFunctions() error {
	l.funcs = make(map[funcKey]*function)
	l.funcsBySection = make(map[int][]*function)
	for _, sec := range l.file.Sections {
		if !sec.Executable() {
			continue
		}
		if len(sec.Data)%insnSize != 0 {
			return fmt.Errorf("section %s: size %d is not a multiple of %d: %w", sec.Name, len(sec.Data), insnSize, ErrMalformed)
		}
		if err := l.collectSectionFunctions(sec); err != nil {
			return err
		}
	}
	return nil
}

func (l *linker) collectSectionFunctions(sec *elf.Section) error {
	all := l.sectionSymbols(sec)
	syms := make([]elf.Symbol, 0, len(all))
	for _, sym := range all {
		if sym.Type == elf.STT_FUNC {
			syms = append(syms, sym)
		}
	}
	sort.SliceStable(syms, func(i, j int) bool { return syms[i].Value < syms[j].Value })
	fns := make([]function, len(syms))
	l.funcsBySection[sec.Index] = slices.Grow(l.funcsBySection[sec.Index], len(syms))
	size := uint64(len(sec.Data))
	for i, sym := range syms {
		if sym.Value%insnSize != 0 || sym.Value >= size {
			return fmt.Errorf("section %s: function %q at offset %#x: outside the section or misaligned: %w",
				sec.Name, sym.Name, sym.Value, ErrMalformed)
		}
		end := size
		if i+1 < len(syms) {
			end = syms[i+1].Value
		}
		if sym.Size != 0 && sym.Size < end-sym.Value {
			end = sym.Value + sym.Size
		}
		if (end-sym.Value)%insnSize != 0 {
			return fmt.Errorf("section %s: function %q: size %d is not a multiple of %d: %w",
				sec.Name, sym.Name, end-sym.Value, insnSize, ErrMalformed)
		}
		key := funcKey{sec.Index, sym.Value / insnSize}
		if _, dup := l.funcs[key]; dup {
			continue // an alias of a function already seen
		}
		fn := &fns[i]
		*fn = function{
			key:     key,
			name:    sym.Name,
			section: sec,
			insns:   sec.Data[sym.Value:end],
			// Global but not exported from the object (__hidden), as
			// libbpf's usdt.bpf.h helpers are.
			hidden: sym.Bind != elf.STB_LOCAL &&
				(sym.Visibility() == elf.STV_HIDDEN || sym.Visibility() == elf.STV_INTERNAL),
		}
		l.funcs[key] = fn
		// syms is sorted by offset and aliases are skipped, so the
		// section's list stays ordered by offset.
		l.funcsBySection[sec.Index] = append(l.funcsBySection[sec.Index], fn)
	}
	return nil
}

// functionsOf returns the functions of a section ordered by offset.
func (l *linker) functionsOf(sec *elf.Section) []*function {
	return l.funcsBySection[sec.Index]
}

// holds reports whether the whole instruction at byte offset off of the
// function's section, both slots of an ld_imm64, lies inside the
// function: a relocation patches it in the program the function is
// copied into, where the next slot may belong to another function.
func (fn *function) holds(off uint64) bool {
	start := fn.key.insn * insnSize
	if off < start || off-start+insnSize > uint64(len(fn.insns)) {
		return false
	}
	width := uint64(insnSize)
	if fn.insns[off-start] == opLoadImm64 {
		width = 2 * insnSize
	}
	return off-start+width <= uint64(len(fn.insns))
}

// containing returns the function whose instructions include the byte
// offset off of its section, or nil.
func containing(fns []*function, off uint64) *function {
	if i := containingIndex(fns, off); i >= 0 {
		return fns[i]
	}
	return nil
}

// containingIndex is containing's index in fns, or -1.
func containingIndex(fns []*function, off uint64) int {
	i := sort.Search(len(fns), func(i int) bool { return fns[i].key.insn*insnSize > off })
	if i == 0 {
		return -1
	}
	fn := fns[i-1]
	if off >= fn.key.insn*insnSize+uint64(len(fn.insns)) {
		return -1
	}
	return i - 1
}
