// Package ldimm64 decodes, encodes and patches the BPF load-imm64
// instruction (lddw, BPF_LD|BPF_IMM|BPF_DW), the only instruction that
// occupies two 8-byte slots.
//
// It is the one place that knows the instruction's byte layout, so the
// relocator can turn a map, global-data, BTF or function reference into
// final instruction bytes without decoding whole programs. Patching writes
// only the source register and the two immediates and leaves every other
// bit as the compiler emitted it. The package is pure: no syscalls, no state.
package ldimm64
