package bpf

import (
	"fmt"

	"github.com/rawload/rawload/internal/uapi"
)

// ProgramType is a program type of the kernel (BPF_PROG_TYPE_*); it
// prints as bpftool does: "xdp", "tracing".
type ProgramType uint32

func (t ProgramType) String() string { return uapi.ProgTypeName(uint32(t)) }

// MapType is a map type of the kernel (BPF_MAP_TYPE_*); it prints as
// bpftool does: "hash", "ringbuf".
type MapType uint32

func (t MapType) String() string { return uapi.MapTypeName(uint32(t)) }

// AttachType is an attach type of the kernel (enum bpf_attach_type), the
// expected_attach_type a program is loaded with; it prints as bpftool
// does: "cgroup_inet_ingress", "trace_fentry".
type AttachType uint32

func (t AttachType) String() string { return uapi.AttachTypeName(uint32(t)) }

// MapSource says where in the object a map was defined.
type MapSource int

const (
	// SourceBTF is a map of the BTF-described .maps section.
	SourceBTF MapSource = iota
	// SourceLegacy is a struct bpf_map_def of the legacy maps section.
	SourceLegacy
	// SourceGlobalData is a single-element array holding a .data,
	// .rodata or .bss section, or a named variant of one.
	SourceGlobalData
	// SourceKconfig is the read-only array of the .kconfig externs,
	// filled from the running kernel's configuration.
	SourceKconfig
	// SourceStructOps is a variable of a .struct_ops or .struct_ops.link
	// section: a kernel struct of function pointers to the object's
	// struct_ops programs, registered with Map.AttachStructOps.
	SourceStructOps
)

func (s MapSource) String() string {
	switch s {
	case SourceBTF:
		return "btf"
	case SourceLegacy:
		return "legacy"
	case SourceGlobalData:
		return "global-data"
	case SourceKconfig:
		return "kconfig"
	case SourceStructOps:
		return "struct_ops"
	}
	return fmt.Sprintf("MapSource(%d)", int(s))
}

// Pinning is how a map definition asks to be pinned (libbpf's
// LIBBPF_PIN_*).
type Pinning uint32

const (
	// PinNone maps are not pinned.
	PinNone Pinning = 0
	// PinByName maps are pinned under Options.PinPath by their name, and
	// an existing pin of that name is reused.
	PinByName Pinning = 1
)

func (p Pinning) String() string {
	switch p {
	case PinNone:
		return "none"
	case PinByName:
		return "by_name"
	}
	return fmt.Sprintf("pinning(%d)", uint32(p))
}
