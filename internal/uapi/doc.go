// Package uapi holds the numbers of the kernel's BPF UAPI
// (include/uapi/linux/bpf.h): commands, program, map, attach and link
// types, flags, pseudo source registers and sizes, with the names bpftool
// prints for them.
//
// It imports nothing but fmt, so the pure packages (reloc, the spec
// stage) can use the same numbers as the syscall layer and still build on
// any GOOS. Values newer than golang.org/x/sys/unix are here too.
package uapi
