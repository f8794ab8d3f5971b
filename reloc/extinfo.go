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
func (l *linker) attachExtInfos(prog *Program, layout []placed) error {
	if l.ext == nil {
		return nil
	}
	insns := stubInstructions(prog.Insns)
	index := rawOffsetIndex(insns)
	for _, p := range layout {
		first := asm.RawInstructionOffset(p.fn.key.insn)
		end := first + asm.RawInstructionOffset(len(p.fn.insns)/insnSize)
		moved := func(off asm.RawInstructionOffset) (*asm.Instruction, bool) {
			if off < first || off >= end {
				return nil, false
			}
			i, ok := index[off-first+asm.RawInstructionOffset(p.start)]
			if !ok {
				return nil, false
			}
			return &insns[i], true
		}
		funcs, lines, relos := l.ext.Section(p.fn.section.Name)
		for _, fo := range funcs {
			if ins, ok := moved(fo.Offset); ok {
				*ins = btf.WithFuncMetadata(*ins, fo.Func)
			}
		}
		for _, lo := range lines {
			if ins, ok := moved(lo.Offset); ok {
				*ins = ins.WithSource(lo.Line)
			}
		}
		for _, ro := range relos {
			if ins, ok := moved(ro.Offset); ok {
				*ins = btf.WithCORERelocationMetadata(*ins, ro.Relo)
			}
		}
	}
	b, err := l.btfBuilder()
	if err != nil {
		return err
	}
	if err := l.applyCORE(prog, insns); err != nil {
		return err
	}
	prog.FuncInfo, prog.LineInfo, err = btf.MarshalExtInfos(insns, b)
	if err != nil {
		return fmt.Errorf("marshaling func and line info: %w", err)
	}
	prog.FuncInfoRecSize, prog.LineInfoRecSize = btf.FuncInfoSize, btf.LineInfoSize
	return nil
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

func rawOffsetIndex(insns asm.Instructions) map[asm.RawInstructionOffset]int {
	index := make(map[asm.RawInstructionOffset]int, len(insns))
	var off asm.RawInstructionOffset
	for i := range insns {
		index[off] = i
		off += insns[i].Width()
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
	if l.spec == nil {
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

// mapTypeIDs gives a map the ids of its key and value types in the
// object's BTF, for MAP_CREATE.
func mapTypeIDs(b *btf.Builder, m *MapSpec) error {
	var err error
	if m.Key != nil {
		if m.BTFKey, err = b.Add(m.Key); err != nil {
			return err
		}
	}
	if m.Value != nil {
		if m.BTFValue, err = b.Add(m.Value); err != nil {
			return err
		}
	}
	return nil
}
