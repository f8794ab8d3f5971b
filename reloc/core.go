package reloc

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
)

// targetBTF is the BTF CO-RE relocations are computed against, fetched on
// the first relocation that needs it.
type targetBTF struct {
	once sync.Once
	spec *btf.Spec
	err  error
}

func (l *linker) targetSpec() (*btf.Spec, error) {
	if l.target == nil {
		l.target = &targetBTF{}
	}
	l.target.once.Do(func() {
		if l.opts.CORETarget != nil {
			if names, all := l.coreTypeNames(); !all {
				l.target.spec, l.target.err = l.opts.CORETarget(names)
				return
			}
		}
		l.target.spec, l.target.err = l.opts.TargetBTF()
	})
	return l.target.spec, l.target.err
}

// applyCORE computes the CO-RE fixups of a program against the target BTF
// and writes them into its instructions: once, at link time, so the bytes
// are final afterwards. A relocation whose target does not exist poisons
// its instruction, as libbpf does, so the verifier objects only if that
// instruction is reachable.
func (l *linker) applyCORE(prog *Program, insns asm.Instructions) error {
	var (
		relos   []*btf.CORERelocation
		offsets []int
	)
	iter := insns.Iterate()
	for iter.Next() {
		if relo := btf.CORERelocationMetadata(iter.Ins); relo != nil {
			relos = append(relos, relo)
			offsets = append(offsets, int(iter.Offset)*insnSize)
		}
	}
	prog.CORE = len(relos)
	if len(relos) == 0 || l.opts.TargetBTF == nil {
		return nil
	}
	target, err := l.targetSpec()
	if err != nil {
		if prog.Err == nil {
			prog.Err = fmt.Errorf("program %q: CO-RE: target BTF: %w", prog.Name, err)
		}
		return nil
	}
	localID, err := l.localTypeID()
	if err != nil {
		return err
	}
	fixups, err := btf.CORERelocate(relos, []*btf.Spec{target}, l.file.ByteOrder, localID)
	if err != nil {
		if prog.Err == nil {
			prog.Err = fmt.Errorf("program %q: CO-RE: %w", prog.Name, err)
		}
		return nil
	}
	for i, fixup := range fixups {
		if err := l.applyFixup(prog.Insns[offsets[i]:], fixup); err != nil && prog.Err == nil {
			prog.Err = fmt.Errorf("program %q: CO-RE relocation %s at offset %#x: %w", prog.Name, relos[i], offsets[i], err)
		}
	}
	return nil
}

// localTypeID gives a local type the id it has in the BTF the kernel
// gets (bpf_core_type_id_local): in the object's own BTF when that is
// passed through, in the re-encoded BTF otherwise.
func (l *linker) localTypeID() (func(btf.Type) (btf.TypeID, error), error) {
	if l.coreLocal != nil {
		return l.coreLocal.originalID, nil
	}
	if l.pass != nil {
		return l.spec.TypeID, nil
	}
	b, err := l.btfBuilder()
	if err != nil {
		return nil, err
	}
	return b.Add, nil
}

// applyFixup rewrites one instruction in place. COREFixup works on
// asm.Instruction, so the instruction takes a round trip through it.
func (l *linker) applyFixup(raw []byte, fixup btf.COREFixup) error {
	bo := l.file.ByteOrder
	var ins asm.Instruction
	if err := ins.Unmarshal(bytes.NewReader(raw), bo, "linux"); err != nil {
		return err
	}
	width := int(ins.Width()) * insnSize
	if err := fixup.Apply(&ins); err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := ins.Marshal(&buf, bo); err != nil {
		return err
	}
	if buf.Len() != width {
		return fmt.Errorf("fixup %s changed the instruction's width", &fixup)
	}
	copy(raw, buf.Bytes())
	return nil
}
