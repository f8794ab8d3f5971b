// Package reloc turns a parsed BPF object file into programs whose
// instructions only lack the numbers of the map fds they reference.
//
// It reads map definitions (BTF-defined .maps, legacy maps, global data
// sections), links every program with the subprograms it calls, and records
// each ld_imm64 that refers to a map as a [Site]. The caller reserves one fd
// slot per map and patches each site once; after that the instruction bytes
// never change again. The package makes no system calls, so all of this can
// be tested without a kernel.
package reloc
