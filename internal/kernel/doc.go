// Package kernel is what rawload reads from the running kernel and around
// it: vmlinux and module BTF, kallsyms, the kernel's configuration, feature
// probes and the number of possible CPUs.
//
// An Env holds it with an explicit lifetime. It caches parsed data (the
// vmlinux spec, module specs, the kallsyms text, the config, probe answers),
// which is costly to produce and the same for every caller; it never caches
// an fd, and never a failure. A failure, EMFILE or ENOMEM or a BTF file not
// there yet, is returned to its caller and forgotten: the next call tries
// again. The exceptions are the kernel's own definitive answers to a probe
// ("accepted", "refused with EINVAL"), which no retry could change.
//
// Fds of module BTF objects, which program loads need, belong to whoever
// loads: a ModuleFDs set opens them on first need and closes them all at
// once, so a bpf.Object holds exactly the module fds its programs use, for
// as long as it lives.
package kernel
