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
			if _, ok := moved(ro.Offset); ok && prog.Err == nil {
				prog.Err = fmt.Errorf("program %q: %s: CO-RE relocations: %w", prog.Name, p.fn, ErrUnsupported)
			}
		}
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

// btfBuilder holds every type of the object's BTF under its original order
// so that ext infos and map key/value types refer into one blob.
func (l *linker) btfBuilder() (*btf.Builder, error) {
	if l.builder != nil {
		return l.builder, nil
	}
	var types []btf.Type
	for typ, err := range l.spec.All() {
		if err != nil {
			return nil, fmt.Errorf("reading BTF: %w", err)
		}
		types = append(types, typ)
	}
	b, err := btf.NewBuilder(types, nil)
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
	l.obj.BTF, err = b.Marshal(nil, &btf.MarshalOptions{Order: binary.NativeEndian, PreventNoTypeFound: true})
	if err != nil {
		return fmt.Errorf("marshaling BTF: %w", err)
	}
	return nil
}
