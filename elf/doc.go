// Package elf reads the ELF64 relocatable objects that clang emits for BPF,
// in either byte order.
//
// It exists instead of debug/elf because a loader has different needs from a
// general-purpose reader: it takes untrusted bytes that are already in
// memory, so every section is a view into the input rather than a copy, and
// everything the package hands out (section indices in links and symbols,
// string table offsets, symbol and relocation indices) has been checked
// against the input before a caller sees it. The relocator can then index
// with those values without re-checking them. Nothing is allocated from a
// count in the file before that count has been shown to fit in the input, so
// a hostile object costs at most a small multiple of its own size, and bad
// input yields an error wrapping ErrNotELF, ErrUnsupported or ErrMalformed
// that names the section, symbol or relocation at fault, never a panic.
//
// Only what BPF objects use is supported: ET_REL, EM_BPF, SHT_REL
// relocations and a single SHT_SYMTAB. Extended section numbering,
// compressed sections and SHT_RELA are rejected with ErrUnsupported.
package elf
