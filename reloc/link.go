package reloc

import (
	"fmt"
	"slices"

	"github.com/rawload/rawload/ldimm64"
)

// linkPrograms builds every program: each function outside .text, followed
// by the subprograms it reaches through calls and callback references, in
// the order first reached. Offsets of calls are fixed for that layout and
// map references become sites.
func (l *linker) linkPrograms() error {
	for _, sec := range l.file.Sections {
		if !sec.Executable() || sec.Name == ".text" {
			continue
		}
		for _, fn := range l.functionsOf(sec) {
			prog, err := l.linkProgram(fn)
			if err != nil {
				return err
			}
			l.obj.Programs = append(l.obj.Programs, prog)
		}
	}
	return nil
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
	if err != nil && prog.Err == nil {
		prog.Err = fmt.Errorf("program %q: %w", main.name, err)
	}
	var size uint64
	for _, p := range layout {
		size += uint64(len(p.fn.insns))
	}
	prog.Insns = make([]byte, 0, size)
	for _, p := range layout {
		prog.Insns = append(prog.Insns, p.fn.insns...)
	}
	for _, p := range layout {
		if err := l.applyRelocations(prog, p, start); err != nil {
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
func (l *linker) layout(main *function) ([]placed, map[funcKey]uint64, error) {
	layout := []placed{{main, 0}}
	start := map[funcKey]uint64{main.key: 0}
	next := uint64(len(main.insns) / insnSize)
	var firstErr error
	for i := 0; i < len(layout); i++ {
		fn := layout[i].fn
		if fn.err != nil && firstErr == nil {
			firstErr = fn.err
		}
		for _, r := range fn.relocs {
			if r.kind != relocCall && r.kind != relocFuncAddr {
				continue
			}
			if _, ok := start[r.target]; ok {
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
			start[r.target] = next
			layout = append(layout, placed{callee, next})
			next += uint64(len(callee.insns) / insnSize)
		}
	}
	return layout, start, firstErr
}

func (l *linker) applyRelocations(prog *Program, p placed, start map[funcKey]uint64) error {
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
			target, ok := start[r.target]
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
