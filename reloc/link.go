package reloc

import (
	"fmt"
	"slices"

	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/ldimm64"
)

// linkPrograms builds every program: each function outside .text, followed
// by the subprograms it reaches through calls and callback references, in
// the order first reached. Offsets of calls are fixed for that layout and
// map references become sites.
func (l *linker) linkPrograms() error {
	var candidates []*function
	for _, sec := range l.file.Sections {
		if sec.Executable() && sec.Name != ".text" {
			candidates = append(candidates, l.functionsOf(sec)...)
		}
	}
	// Bounded before anything lays programs out: the candidates include
	// every program, and withoutSubprograms lays out each of them.
	if err := l.checkLinkedSize(candidates); err != nil {
		return err
	}
	for _, fn := range l.withoutSubprograms(candidates) {
		prog, err := l.linkProgram(fn)
		if err != nil {
			return err
		}
		l.obj.Programs = append(l.obj.Programs, prog)
	}
	return nil
}

// withoutSubprograms drops the functions that sit in a section naming no
// program type and that another function calls: objects put helpers in
// sections of their own ("static", "lib"), and those are subprograms, as
// cilium/ebpf treats them. A function there that nothing calls stays a
// program, which reports its unknown section rather than vanish.
func (l *linker) withoutSubprograms(candidates []*function) []*function {
	unknown := func(fn *function) bool {
		_, err := KindOf(fn.section.Name)
		return err != nil
	}
	if !slices.ContainsFunc(candidates, unknown) {
		return candidates
	}
	// Every call reaches its callee from some program's layout, since
	// every function outside .text starts one.
	called := make(map[*function]bool)
	for _, fn := range candidates {
		layout, _, _ := l.layout(fn)
		for _, p := range layout {
			if p.fn != fn {
				called[p.fn] = true
			}
		}
	}
	return slices.DeleteFunc(slices.Clone(candidates), func(fn *function) bool {
		return unknown(fn) && called[fn]
	})
}

// maxProgramBytes is the longest linked program rawload builds: the
// kernel refuses more than BPF_COMPLEXITY_LIMIT_INSNS instructions with
// E2BIG, so a longer one is never copied.
const maxProgramBytes = uapi.MaxInsns * insnSize

// maxLinkedBytes bounds the instruction bytes of all the linked programs
// of an object read from inputSize bytes.
//
// Linking copies into each program every subprogram it reaches, each
// once, so one program is never longer than the object's code, but n
// programs sharing a library take n copies of it: a file of a few MB with
// a thousand one-call programs would link into GBs. The bound lets every
// object reuse its code 16 times over, and any object share code without
// limit until its programs total 64 MiB; real objects (tens of programs,
// shared subprograms of a few KB) stay far below either. Beyond it the
// object is refused before any program is copied.
func maxLinkedBytes(inputSize int) uint64 {
	return 64<<20 + 16*uint64(inputSize)
}

// checkLinkedSize adds up the length of every program the functions
// would link into, refusing the object once the total passes
// maxLinkedBytes. (A function in a section of subprograms counts as if it
// were a program.)
// A program longer than maxProgramBytes is never copied, but counts as
// maxProgramBytes: finding its length took that much work. A layout
// costs a step per function and per relocation of each function it
// holds, every function takes 8 bytes or more and has one relocation per
// instruction at most, so this stops after a number of steps bounded by
// maxLinkedBytes/8 whatever the object.
func (l *linker) checkLinkedSize(fns []*function) error {
	limit := maxLinkedBytes(l.inputSize)
	var total uint64
	for _, fn := range fns {
		layout, _, _ := l.layout(fn)
		total += min(layoutSize(layout), maxProgramBytes)
		if total > limit {
			return fmt.Errorf("%s: linking the programs up to it takes %d instruction bytes, more than the %d rawload links from a %d-byte object: %w",
				fn, total, limit, l.inputSize, ErrLimit)
		}
	}
	return nil
}

func layoutSize(layout []placed) uint64 {
	var size uint64
	for _, p := range layout {
		size += uint64(len(p.fn.insns))
	}
	return size
}

// placed is a function and where it starts in a program, in instructions.
type placed struct {
	fn    *function
	start uint64
}

func (l *linker) linkProgram(main *function) (*Program, error) {
	prog := &Program{Name: main.name, Section: main.section.Name}
	kind, err := KindOf(main.section.Name)
	if err != nil {
		prog.Err = err
	}
	prog.Kind = kind

	layout, start, err := l.layout(main)
	size := layoutSize(layout)
	if size > maxProgramBytes {
		// Refused before copying: the kernel would refuse it anyway.
		prog.Err = fmt.Errorf("program %q (section %s): %d instructions or more with its subprograms, more than the kernel's limit of %d (BPF_COMPLEXITY_LIMIT_INSNS): %w",
			main.name, main.section.Name, size/insnSize, uapi.MaxInsns, ErrLimit)
		return prog, nil
	}
	if err != nil && prog.Err == nil {
		prog.Err = fmt.Errorf("program %q: %w", main.name, err)
	}
	prog.Insns = make([]byte, 0, size)
	for _, p := range layout {
		prog.Insns = append(prog.Insns, p.fn.insns...)
	}
	for _, p := range layout {
		if err := l.applyRelocations(prog, p, &start); err != nil {
			return nil, fmt.Errorf("program %q: %s: %w", main.name, p.fn, err)
		}
	}
	for _, s := range prog.Sites {
		prog.Maps = append(prog.Maps, s.Map)
	}
	slices.Sort(prog.Maps)
	prog.Maps = slices.Compact(prog.Maps)
	for _, index := range prog.Maps {
		if merr := l.obj.Maps[index].Err; merr != nil && prog.Err == nil {
			prog.Err = fmt.Errorf("program %q uses map %q: %w", main.name, l.obj.Maps[index].Name, merr)
		}
	}
	if err := l.attachExtInfos(prog, layout); err != nil {
		return nil, fmt.Errorf("program %q: %w", main.name, err)
	}
	return prog, nil
}

// layout lists the functions a program needs, main first. A function
// whose relocations could not be resolved still takes its place, and the
// first such problem is returned so the program can report it at load.
// The list stops growing once it takes more than maxProgramBytes: such a
// program is refused, and finding so is all it may cost.
func (l *linker) layout(main *function) ([]placed, funcStarts, error) {
	start := funcStarts{layout: []placed{{main, 0}}}
	layout := start.layout
	next := uint64(len(main.insns) / insnSize)
	var firstErr error
	for i := 0; i < len(layout) && next*insnSize <= maxProgramBytes; i++ {
		fn := layout[i].fn
		if fn.err != nil && firstErr == nil {
			firstErr = fn.err
		}
		for _, r := range fn.relocs {
			if r.kind != relocCall && r.kind != relocFuncAddr {
				continue
			}
			if _, ok := start.of(r.target); ok {
				continue
			}
			callee, ok := l.funcs[r.target]
			if !ok {
				if firstErr == nil {
					firstErr = fmt.Errorf("%s: offset %#x refers to instruction %d of section %s, which starts no function: %w",
						fn, r.offset, r.target.insn, l.file.Sections[r.target.section].Name, ErrMalformed)
				}
				continue
			}
			layout = append(layout, placed{callee, next})
			start.add(layout)
			next += uint64(len(callee.insns) / insnSize)
			if next*insnSize > maxProgramBytes {
				break
			}
		}
	}
	return layout, start, firstErr
}

// funcStarts finds where each function of a layout starts: by looking
// through the layout while it is short, as most are (a program and a few
// subprograms), through a map once it is long.
type funcStarts struct {
	layout []placed
	byKey  map[funcKey]uint64
}

const funcStartsScan = 16

func (s *funcStarts) of(key funcKey) (uint64, bool) {
	if s.byKey != nil {
		start, ok := s.byKey[key]
		return start, ok
	}
	for _, p := range s.layout {
		if p.fn.key == key {
			return p.start, true
		}
	}
	return 0, false
}

// add takes the layout with one more function at its end.
func (s *funcStarts) add(layout []placed) {
	s.layout = layout
	switch last := layout[len(layout)-1]; {
	case s.byKey != nil:
		s.byKey[last.fn.key] = last.start
	case len(layout) > funcStartsScan:
		s.byKey = make(map[funcKey]uint64, 2*len(layout))
		for _, p := range layout {
			s.byKey[p.fn.key] = p.start
		}
	}
}

func (l *linker) applyRelocations(prog *Program, p placed, start *funcStarts) error {
	bo := l.file.ByteOrder
	for _, r := range p.fn.relocs {
		at := p.start*insnSize + r.offset
		insn := prog.Insns[at:]
		var err error
		switch r.kind {
		case relocMapFD:
			err = ldimm64.PatchMapFD(insn, bo, 0)
			prog.Sites = append(prog.Sites, Site{Offset: int(at), Map: r.mapIndex, Kind: SiteMapFD})
		case relocMapValue:
			err = ldimm64.PatchMapValue(insn, bo, 0, r.valueOffset)
			prog.Sites = append(prog.Sites, Site{Offset: int(at), Map: r.mapIndex, Kind: SiteMapValue, ValueOffset: r.valueOffset})
		case relocExtern:
			ext := *r.extern
			ext.Offset = int(at)
			prog.Externs = append(prog.Externs, ext)
		case relocCall, relocFuncAddr:
			target, ok := start.of(r.target)
			if !ok {
				continue // reported by layout
			}
			rel := int64(target) - int64(at/insnSize) - 1
			if r.kind == relocCall {
				bo.PutUint32(insn[4:], uint32(int32(rel)))
			} else {
				err = ldimm64.PatchFunc(insn, bo, int32(rel))
			}
		}
		if err != nil {
			return fmt.Errorf("offset %#x: %w", r.offset, err)
		}
	}
	return nil
}
