// Package syscall is rawload's raw bpf(2) layer: one function per command,
// attribute structs laid out exactly like the members of the kernel's
// union bpf_attr, and the UAPI constants the rest of rawload names types and
// flags with.
//
// It holds no state. Every fd a function returns belongs to the caller, who
// closes it; no function keeps one. Kernel errors come back as the bare
// unix.Errno, so errors.Is(err, unix.EPERM) works and callers add the
// context (which map, which program) that this layer does not know.
//
// Attribute structs carry user pointers as uint64 fields, as the kernel does.
// Whatever such a field points at is moved to the heap by the compiler (see
// addr) and kept alive across the syscall with runtime.KeepAlive.
//
// The constant files (cmd.go, maptype.go, progtype.go, attachtype.go,
// linktype.go, flags.go, pseudo.go, name.go) do no syscalls, so pure
// packages such as the relocator may use them. Values and layouts follow
// include/uapi/linux/bpf.h of Linux 6.18.
package syscall
