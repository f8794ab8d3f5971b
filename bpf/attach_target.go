package bpf

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/kernel"
	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/reloc"
	"github.com/rawload/rawload/syscall"
)

// attachTarget is what PROG_LOAD needs to know about the kernel function
// or type a tracing, LSM, iterator or extension program attaches to.
type attachTarget struct {
	btfID    uint32
	btfObjFD int // module BTF; 0 for vmlinux
	progFD   int // the program an extension replaces a function of
	name     string
	// structOps is set for a struct_ops program, whose
	// expected_attach_type is the index of the member it implements.
	structOps          bool
	expectedAttachType uint32
}

// attachTargetName names the BTF type a section's program attaches to, as
// libbpf derives it: fentry/fexit/fmod_ret attach to the function itself,
// LSM programs to bpf_lsm_<hook>, iterators to bpf_iter_<name>, and
// tp_btf programs to the btf_trace_<tracepoint> typedef.
func attachTargetName(kind reloc.ProgramKind) (string, btf.Type, bool) {
	switch kind.ExpectedAttachType {
	case uapi.AttachTraceFentry, uapi.AttachTraceFexit, uapi.AttachModifyReturn:
		return kind.AttachTo, (*btf.Func)(nil), true
	case uapi.AttachLSMMAC, uapi.AttachLSMCgroup:
		return "bpf_lsm_" + kind.AttachTo, (*btf.Func)(nil), true
	case uapi.AttachTraceIter:
		return "bpf_iter_" + kind.AttachTo, (*btf.Func)(nil), true
	case uapi.AttachTraceRawTP:
		return "btf_trace_" + kind.AttachTo, (*btf.Typedef)(nil), true
	}
	return "", nil, false
}

// resolveAttachTarget finds the attach target of a program in the kernel's
// BTF, vmlinux or a module.
func (o *Object) resolveAttachTarget(ps *reloc.Program) (attachTarget, error) {
	if ps.Kind.Type == uapi.ProgTypeStructOps {
		if ps.StructOps == nil {
			return attachTarget{}, ErrStructOpsUnused
		}
		return o.structOpsTarget(ps)
	}
	name, kind, ok := attachTargetName(ps.Kind)
	if !ok {
		return attachTarget{}, nil
	}
	if ps.Kind.AttachTo == "" || strings.ContainsAny(ps.Kind.AttachTo, "/") {
		return attachTarget{}, fmt.Errorf("section %s names no attach target", ps.Section)
	}
	kt, err := o.kernelTypeID(name, kind)
	if err != nil {
		return attachTarget{}, fmt.Errorf("attach target: %w", err)
	}
	return attachTarget{btfID: uint32(kt.ID), btfObjFD: kt.BTFFD, name: name}, nil
}

// kernelTypeID finds the id of a kernel type (and the BTF fd of the
// module holding it): in Options.KernelBTF when given, else in the
// running kernel's BTF, without decoding all of vmlinux.
func (o *Object) kernelTypeID(name string, kind btf.Type) (kernel.Type, error) {
	if o.opts.KernelBTF != nil {
		return o.env.FindType(o.opts.KernelBTF, name, kind, o.moduleFDs)
	}
	return o.env.FindTypeID(name, kind, o.moduleFDs)
}

// AttachBTFID is the id, in the kernel's BTF, of the function or type the
// program attaches to; 0 for programs that attach otherwise.
func (p *Program) AttachBTFID() uint32 {
	p.obj.mu.Lock()
	defer p.obj.mu.Unlock()
	return p.attach.btfID
}

// isTrampoline reports whether a program attaches through a BPF
// trampoline, which some kernels refuse to load at all.
func isTrampoline(kind reloc.ProgramKind) bool {
	if kind.Type == uapi.ProgTypeExt || kind.Type == uapi.ProgTypeStructOps {
		return true
	}
	switch kind.ExpectedAttachType {
	case uapi.AttachTraceFentry, uapi.AttachTraceFexit, uapi.AttachModifyReturn, uapi.AttachLSMMAC, uapi.AttachLSMCgroup:
		return kind.Type == uapi.ProgTypeTracing || kind.Type == uapi.ProgTypeLSM
	}
	return false
}

// SetAttachTarget makes an extension (freplace) program replace the
// global function funcName of the loaded program targetFD; an empty
// funcName takes the one the section names (freplace/<func>). It must be
// called before the program loads. rawload keeps its own duplicate of
// targetFD until the Object closes.
func (p *Program) SetAttachTarget(targetFD int, funcName string) error {
	if p.spec.Kind.Type != uapi.ProgTypeExt {
		return fmt.Errorf("program %s: only extension (freplace) programs take a target program", p.Name())
	}
	if funcName == "" {
		funcName = p.spec.Kind.AttachTo
	}
	id, err := programFuncID(targetFD, funcName)
	if err != nil {
		return fmt.Errorf("program %s: target fd %d: %w", p.Name(), targetFD, err)
	}
	dup, err := unix.FcntlInt(uintptr(targetFD), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return fmt.Errorf("program %s: duplicating target fd %d: %w", p.Name(), targetFD, err)
	}
	p.lifecycle.Lock()
	defer p.lifecycle.Unlock()
	p.obj.mu.Lock()
	defer p.obj.mu.Unlock()
	if p.obj.closed || p.fd >= 0 {
		unix.Close(dup)
		return fmt.Errorf("program %s: set the attach target before loading", p.Name())
	}
	if p.attach.progFD > 0 {
		unix.Close(p.attach.progFD)
	}
	p.attach = attachTarget{btfID: uint32(id), progFD: dup, name: funcName}
	return nil
}

// programFuncID finds a function in the BTF of a loaded program.
func programFuncID(progFD int, name string) (btf.TypeID, error) {
	info, err := syscall.ProgInfoByFD(progFD)
	if err != nil {
		return 0, fmt.Errorf("program info: %w", err)
	}
	if info.BTFID == 0 {
		return 0, fmt.Errorf("the program was loaded without BTF")
	}
	fd, err := syscall.BTFGetFDByID(info.BTFID)
	if err != nil {
		return 0, fmt.Errorf("its BTF (id %d): %w", info.BTFID, err)
	}
	defer unix.Close(fd)
	data, err := syscall.BTFDataByFD(fd)
	if err != nil {
		return 0, fmt.Errorf("reading its BTF: %w", err)
	}
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(data))
	if err != nil {
		return 0, fmt.Errorf("parsing its BTF: %w", err)
	}
	var fn *btf.Func
	if err := spec.TypeByName(name, &fn); err != nil {
		return 0, fmt.Errorf("function %s: %w", name, err)
	}
	return spec.TypeID(fn)
}
