package bpf

import (
	"github.com/cilium/ebpf/btf"

	"github.com/rawload/rawload/internal/kernel"
)

// What the kernel says about types, symbols and its config comes from an
// Object's kernel.Env, the process-wide one unless Options chose another,
// and each Object holds the module BTF fds of its own programs. Feature
// probes and the CPU count always come from the process-wide Env: they ask
// the running kernel, not files an Env could relocate, and the callers
// (map element operations, program loads) need no Object to ask.

// errKernelTypeNotFound is returned when a type an object needs from the
// kernel is in neither vmlinux nor any module's BTF.
var errKernelTypeNotFound = kernel.ErrTypeNotFound

// environment is the kernel environment o selects.
func (o *Options) environment() *kernel.Env {
	if o.env != nil {
		return o.env
	}
	return kernel.System()
}

// kernelSpec returns the running kernel's vmlinux BTF, shared by the
// process.
func kernelSpec() (*btf.Spec, error) { return kernel.System().Vmlinux() }

// PossibleCPUs is the number of values a per-CPU map holds per key.
func PossibleCPUs() (int, error) { return kernel.System().PossibleCPUs() }

// bindMap binds the map in slot to the program at progFD where the
// kernel has BPF_PROG_BIND_MAP (kernel.Env.BindMap).
func bindMap(progFD, slot int) error { return kernel.System().BindMap(progFD, slot) }

// btfMarshalOptions says how to marshal an object's BTF for the running
// kernel. Each call returns a new copy.
func btfMarshalOptions() *btf.MarshalOptions { return kernel.System().BTFMarshalOptions() }
