package bpf

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/reloc"
)

// attachTarget is what PROG_LOAD needs to know about the kernel function
// or type a tracing, LSM, iterator or extension program attaches to.
type attachTarget struct {
	btfID    uint32
	btfObjFD int // module BTF; 0 for vmlinux
	progFD   int // the program an extension replaces a function of
	name     string
}

// attachTargetName names the BTF type a section's program attaches to, as
// libbpf derives it: fentry/fexit/fmod_ret attach to the function itself,
// LSM programs to bpf_lsm_<hook>, iterators to bpf_iter_<name>, and
// tp_btf programs to the btf_trace_<tracepoint> typedef.
func attachTargetName(kind reloc.ProgramKind) (string, btf.Type, bool) {
	switch kind.ExpectedAttachType {
	case unix.BPF_TRACE_FENTRY, unix.BPF_TRACE_FEXIT, unix.BPF_MODIFY_RETURN:
		return kind.AttachTo, (*btf.Func)(nil), true
	case unix.BPF_LSM_MAC, unix.BPF_LSM_CGROUP:
		return "bpf_lsm_" + kind.AttachTo, (*btf.Func)(nil), true
	case unix.BPF_TRACE_ITER:
		return "bpf_iter_" + kind.AttachTo, (*btf.Func)(nil), true
	case unix.BPF_TRACE_RAW_TP:
		return "btf_trace_" + kind.AttachTo, (*btf.Typedef)(nil), true
	}
	return "", nil, false
}

// resolveAttachTarget finds the attach target of a program in the kernel's
// BTF, vmlinux or a module.
func (o *Object) resolveAttachTarget(ps *reloc.Program) (attachTarget, error) {
	name, kind, ok := attachTargetName(ps.Kind)
	if !ok {
		return attachTarget{}, nil
	}
	if ps.Kind.AttachTo == "" || strings.ContainsAny(ps.Kind.AttachTo, "/") {
		return attachTarget{}, fmt.Errorf("section %s names no attach target", ps.Section)
	}
	base, err := o.opts.targetBTF()
	if err != nil {
		return attachTarget{}, fmt.Errorf("kernel BTF for attach target %s: %w", name, err)
	}
	kt, err := findKernelType(base, name, kind)
	if err != nil {
		return attachTarget{}, fmt.Errorf("attach target: %w", err)
	}
	return attachTarget{btfID: uint32(kt.ID), btfObjFD: kt.BTFFD, name: name}, nil
}

// AttachBTFID is the id, in the kernel's BTF, of the function or type the
// program attaches to; 0 for programs that attach otherwise.
func (p *Program) AttachBTFID() uint32 { return p.attach.btfID }

// isTrampoline reports whether a program attaches through a BPF
// trampoline, which some kernels refuse to load at all.
func isTrampoline(kind reloc.ProgramKind) bool {
	switch kind.ExpectedAttachType {
	case unix.BPF_TRACE_FENTRY, unix.BPF_TRACE_FEXIT, unix.BPF_MODIFY_RETURN, unix.BPF_LSM_MAC, unix.BPF_LSM_CGROUP:
		return kind.Type == unix.BPF_PROG_TYPE_TRACING || kind.Type == unix.BPF_PROG_TYPE_LSM
	}
	return false
}
