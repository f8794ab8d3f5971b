package kernel

import (
	"sync/atomic"

	"github.com/cilium/ebpf/btf"

	"github.com/rawload/rawload/internal/rawbtf"
)

// Paths says where an Env reads the kernel's files. A zero field takes
// its default, the running kernel's own file.
type Paths struct {
	// BTFDir holds vmlinux and one split BTF file per loaded module.
	BTFDir string
	// Kallsyms lists the kernel's symbols.
	Kallsyms string
	// PossibleCPUs is the kernel's CPU list ("0-3,8") of possible CPUs.
	PossibleCPUs string
	// ProcConfig is the gzipped config of a kernel built with IKCONFIG_PROC.
	ProcConfig string
	// BootDir holds config-<release>, read when ProcConfig does not exist.
	BootDir string
	// VersionSignature is Ubuntu's /proc/version_signature, which carries
	// the upstream sublevel that Ubuntu's release string lacks.
	VersionSignature string
}

// Defaults of Paths.
const (
	DefaultBTFDir           = "/sys/kernel/btf"
	DefaultKallsyms         = "/proc/kallsyms"
	DefaultPossibleCPUs     = "/sys/devices/system/cpu/possible"
	DefaultProcConfig       = "/proc/config.gz"
	DefaultBootDir          = "/boot"
	DefaultVersionSignature = "/proc/version_signature"
)

// withDefaults fills every zero field of p with its default.
func (p Paths) withDefaults() Paths {
	for _, f := range []struct {
		field *string
		def   string
	}{
		{&p.BTFDir, DefaultBTFDir},
		{&p.Kallsyms, DefaultKallsyms},
		{&p.PossibleCPUs, DefaultPossibleCPUs},
		{&p.ProcConfig, DefaultProcConfig},
		{&p.BootDir, DefaultBootDir},
		{&p.VersionSignature, DefaultVersionSignature},
	} {
		if *f.field == "" {
			*f.field = f.def
		}
	}
	return p
}

// Env is a kernel environment: the files of Paths and the kernel behind
// them, with what has been read from them so far. It is safe for
// concurrent use. An Env holds no fd and needs no closing; dropping it
// drops its caches.
type Env struct {
	paths Paths

	vmlinux once[*btf.Spec]
	// vmlinuxRaw is vmlinux BTF undecoded, for CORETarget and
	// FindTypeID; rawLookups counts their passes over it.
	vmlinuxRaw once[*rawbtf.BTF]
	rawLookups atomic.Int32
	rawFound   rawFoundIDs
	modules    moduleSpecs
	kallsyms   once[*kallsyms]
	config     once[map[string]string]
	version    once[uint32]
	cpus       once[int]

	// Each probe's answer, once the kernel has given a definitive one;
	// allBTF is the answer for all of them at once (acceptsAllBTF).
	btfProbes   [numBTFFeatures]once[error]
	allBTF      once[error]
	progBindMap once[bool]
}

// New returns an Env that reads the files of paths, with nothing read yet.
func New(paths Paths) *Env {
	return &Env{paths: paths.withDefaults()}
}

// system is the running kernel as the process sees it, shared by every
// caller that does not bring its own Env: what it parses once, ~11 ms of
// vmlinux BTF above all, every Object after it reuses.
var system = New(Paths{})

// System returns the process-wide Env of the running kernel's own files.
func System() *Env { return system }

// Paths returns the files e reads, defaults filled in.
func (e *Env) Paths() Paths { return e.paths }
