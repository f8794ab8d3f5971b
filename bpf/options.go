package bpf

import (
	"github.com/cilium/ebpf/btf"

	"github.com/rawload/rawload/internal/kernel"
)

// LoadType says when a program is loaded.
type LoadType int

const (
	// LoadDisabled programs are never loaded.
	LoadDisabled LoadType = iota
	// LoadAuto programs are loaded by Object.Load.
	LoadAuto
	// LoadDynamic programs are loaded by Program.Load after Object.Load,
	// and may be unloaded and loaded again any number of times.
	LoadDynamic
)

func (t LoadType) String() string {
	switch t {
	case LoadDisabled:
		return "disabled"
	case LoadAuto:
		return "auto"
	case LoadDynamic:
		return "dynamic"
	}
	return "LoadType(?)"
}

// Options tune an Object. The zero value is usable.
type Options struct {
	// Parallelism is the number of Object.Load workers; 0 means GOMAXPROCS,
	// or one for a load of a few small programs (fewer than four, under
	// 2,048 instructions in all), which a second worker only slows.
	Parallelism int
	// LogLevel is the verifier log level of every load. Failed loads come
	// with a log whatever the level.
	LogLevel uint32
	// ReleaseUnusedMaps destroys a map when the last loaded program using
	// it unloads. Pinned and reused maps are never destroyed.
	ReleaseUnusedMaps bool
	// PinPath is the bpffs directory of maps pinned by name.
	PinPath string
	// KernelBTF replaces the running kernel's BTF (/sys/kernel/btf/vmlinux)
	// as the target of CO-RE relocations and the place externs and attach
	// targets are looked up: for tests, or kernels that lack it.
	KernelBTF *btf.Spec

	// env replaces the process-wide kernel environment, for tests that
	// fake its files; nil means kernel.System().
	env *kernel.Env
}

// coreTarget is the BTF the CO-RE relocations of local types named names
// are computed against: KernelBTF when given, else the part of vmlinux
// they can match (kernel.Env.CORETarget).
func (o *Options) coreTarget(names []string) (*btf.Spec, error) {
	if o.KernelBTF != nil {
		return o.KernelBTF, nil
	}
	return o.environment().CORETarget(names)
}

// targetBTF is the BTF CO-RE relocations are computed against, externs
// and attach targets looked up in.
func (o *Options) targetBTF() (*btf.Spec, error) {
	if o.KernelBTF != nil {
		return o.KernelBTF, nil
	}
	return o.environment().Vmlinux()
}
