package reloc

import (
	"encoding/binary"
	"fmt"

	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
)

// extInfos gives a linked program the func_info and line_info records of
// the functions it is made of, moved to where each function now starts.
// The kernel refuses callbacks and global functions without func_info, and
// line_info is what puts source lines into verifier logs.
//
// Each function's records are found once (functionExtInfos), so a program
// costs the records of its own functions, at most one of each kind per
// instruction, and never a pass over every record of every section it
// draws from: a thousand programs sharing a library would otherwise cost
// a thousand passes over all the library's records per function.
func (l *linker) attachExtInfos(prog *Program, layout []placed) error {
	if l.pass != nil {
		l.attachRawExtInfos(prog, layout)
	}
	if l.ext == nil {
		return nil
	}
	insns := stubInstructions(prog.Insns)
	index := rawOffsetIndex(insns, len(prog.Insns)/insnSize)
	for _, p := range layout {
		ext := l.functionExtInfos(p.fn)
		moved := func(off asm.RawInstructionOffset) (*asm.Instruction, bool) {
			at := off + asm.RawInstructionOffset(p.start)
			if at >= asm.RawInstructionOffset(len(index)) || index[at] < 0 {
				return nil, false
			}
			return &insns[index[at]], true
		}
		for off, fn := range ext.funcs {
			if ins, ok := moved(off); ok && l.pass == nil {
				*ins = btf.WithFuncMetadata(*ins, funcInfo(fn, p))
			}
		}
		for off, line := range ext.lines {
			if ins, ok := moved(off); ok && l.pass == nil {
				*ins = ins.WithSource(line)
			}
		}
		for off, relo := range ext.relos {
			if ins, ok := moved(off); ok {
				*ins = btf.WithCORERelocationMetadata(*ins, relo)
			}
		}
	}
	if err := l.applyCORE(prog, insns); err != nil {
		return err
	}
	if l.pass != nil {
		return nil // func and line info from the raw records
	}
	b, err := l.btfBuilder()
	if err != nil {
		return err
	}
	prog.FuncInfo, prog.LineInfo, err = btf.MarshalExtInfos(insns, b)
	if err != nil {
		return fmt.Errorf("marshaling func and line info: %w", err)
	}
	prog.FuncInfoRecSize, prog.LineInfoRecSize = btf.FuncInfoSize, btf.LineInfoSize
	return nil
}

// funcInfo is the BTF function a func_info record gives the kernel. A
// hidden global subprogram is made static, as libbpf does: the verifier
// checks a global function on its own, its pointer arguments nullable
// memory whatever the caller passes, but a static one within each call,
// which is what helpers like usdt.bpf.h's bpf_usdt_arg are written for.
func funcInfo(fn *btf.Func, p placed) *btf.Func {
	if !p.fn.hidden || fn.Linkage != btf.GlobalFunc || p.start == 0 {
		return fn
	}
	static := *fn
	static.Linkage = btf.StaticFunc
	return &static
}

// extInfo holds the ext info records of one function by instruction
// offset from its start. Of several records at one offset the last wins,
// as when they are applied in turn; the kernel takes one per instruction.
type extInfo struct {
	funcs map[asm.RawInstructionOffset]*btf.Func
	lines map[asm.RawInstructionOffset]*btf.Line
	relos map[asm.RawInstructionOffset]*btf.CORERelocation
}

// functionExtInfos returns the records of fn, sorting those of its
// section among the section's functions on the first call for any of
// them. Records outside every function belong to no program.
func (l *linker) functionExtInfos(fn *function) *extInfo {
	if fn.ext != nil {
		return fn.ext
	}
	fns := l.functionsOf(fn.section)
	for _, f := range fns {
		f.ext = &extInfo{}
	}
	find := func(off asm.RawInstructionOffset) (*function, asm.RawInstructionOffset, bool) {
		f := containing(fns, uint64(off)*insnSize)
		if f == nil {
			return nil, 0, false
		}
		return f, off - asm.RawInstructionOffset(f.key.insn), true
	}
	funcs, lines, relos := l.ext.Section(fn.section.Name)
	for _, fo := range funcs {
		if f, at, ok := find(fo.Offset); ok {
			if f.ext.funcs == nil {
				f.ext.funcs = make(map[asm.RawInstructionOffset]*btf.Func)
			}
			f.ext.funcs[at] = fo.Func
		}
	}
	for _, lo := range lines {
		if f, at, ok := find(lo.Offset); ok {
			if f.ext.lines == nil {
				f.ext.lines = make(map[asm.RawInstructionOffset]*btf.Line)
			}
			f.ext.lines[at] = lo.Line
		}
	}
	for _, ro := range relos {
		if f, at, ok := find(ro.Offset); ok {
			if f.ext.relos == nil {
				f.ext.relos = make(map[asm.RawInstructionOffset]*btf.CORERelocation)
			}
			f.ext.relos[at] = ro.Relo
		}
	}
	return fn.ext
}

// stubInstructions stands one asm.Instruction in for each instruction of
// raw, carrying only its opcode: enough for ext info records to find their
// raw offsets, which is all MarshalExtInfos reads besides the metadata.
func stubInstructions(raw []byte) asm.Instructions {
	insns := make(asm.Instructions, 0, len(raw)/insnSize)
	for off := 0; off+insnSize <= len(raw); off += insnSize {
		op := asm.OpCode(raw[off])
		insns = append(insns, asm.Instruction{OpCode: op})
		if op == asm.LoadImmOp(asm.DWord) {
			off += insnSize
		}
	}
	return insns
}

// rawOffsetIndex maps each of the slots raw instruction slots to the
// index in insns of the instruction starting there, or -1 for the second
// half of an ld_imm64. A slice, not a map: 4 bytes a slot, where a map
// would take ten times that for a program of a million instructions.
func rawOffsetIndex(insns asm.Instructions, slots int) []int32 {
	index := make([]int32, slots)
	var off int
	for i := range insns {
		index[off] = int32(i)
		for k := 1; k < int(insns[i].Width()) && off+k < slots; k++ {
			index[off+k] = -1
		}
		off += int(insns[i].Width())
	}
	return index
}

// btfBuilder collects the types of the object's BTF that the kernel will
// see: those func_info, map keys and values, and CO-RE type ids refer to,
// each with what it refers to. Types nothing loaded refers to stay out,
// extern functions and variables among them, which the kernel's BTF
// checker refuses.
func (l *linker) btfBuilder() (*btf.Builder, error) {
	if l.builder != nil {
		return l.builder, nil
	}
	b, err := btf.NewBuilder(nil, nil)
	if err != nil {
		return nil, fmt.Errorf("BTF builder: %w", err)
	}
	l.builder = b
	return b, nil
}

// marshalBTF encodes the object's BTF, with the strings the ext infos
// added, for the running kernel.
func (l *linker) marshalBTF() error {
	if l.spec == nil && l.pass == nil {
		return nil
	}
	if l.pass != nil {
		for _, m := range l.obj.Maps {
			for _, m := range []*MapSpec{m, m.Inner} {
				if m == nil {
					continue
				}
				var err error
				if m.BTFKey, m.BTFValue, err = l.passTypeIDs(m); err != nil {
					return fmt.Errorf("map %s: %w", m.Name, err)
				}
			}
		}
		l.obj.BTF, l.obj.btfPassed = l.pass.blob, true
		l.obj.coreTypesExtracted = l.coreLocal != nil
		return nil
	}
	b, err := l.btfBuilder()
	if err != nil {
		return err
	}
	for _, m := range l.obj.Maps {
		if err := mapTypeIDs(b, m); err != nil {
			return fmt.Errorf("map %s: %w", m.Name, err)
		}
		if m.Inner != nil {
			if err := mapTypeIDs(b, m.Inner); err != nil {
				return fmt.Errorf("map %s: %w", m.Inner.Name, err)
			}
		}
	}
	opts := l.opts.MarshalBTF
	if opts == nil {
		opts = &btf.MarshalOptions{Order: binary.NativeEndian, PreventNoTypeFound: true}
	}
	l.obj.BTF, err = b.Marshal(nil, opts)
	if err != nil {
		return fmt.Errorf("marshaling BTF: %w", err)
	}
	return nil
}

// passTypeIDs are the ids of a map's key and value types in the object's
// own BTF, which the kernel gets as it is.
func (l *linker) passTypeIDs(m *MapSpec) (key, value btf.TypeID, err error) {
	if key, err = l.passTypeID(m.key); err != nil {
		return 0, 0, err
	}
	if value, err = l.passTypeID(m.value); err != nil {
		return 0, 0, err
	}
	return key, value, nil
}

func (l *linker) passTypeID(r typeRef) (btf.TypeID, error) {
	if r.typ == nil {
		return r.id, nil
	}
	spec, err := l.types()
	if err != nil {
		return 0, err
	}
	return spec.TypeID(r.typ)
}

// mapTypeIDs gives a map the ids of its key and value types in the
// object's BTF, for MAP_CREATE.
func mapTypeIDs(b *btf.Builder, m *MapSpec) error {
	var err error
	if m.key.typ != nil {
		if m.BTFKey, err = b.Add(m.key.typ); err != nil {
			return err
		}
	}
	if m.value.typ != nil {
		if m.BTFValue, err = b.Add(m.value.typ); err != nil {
			return err
		}
	}
	return nil
}
