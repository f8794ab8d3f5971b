// Package fuzz holds Go fuzz targets over rawload's parsers and relocator:
// whatever bytes come in, they return an error or a result whose every
// index and offset is safe to use, and never panic.
//
//	go test ./fuzz -run '^$' -fuzz '^FuzzLink$' -fuzztime 10m -fuzzminimizetime 2s
//
// FuzzLink links whole objects to final instructions (CO-RE against the
// fixed BTF of testdata/seeds, so no kernel is involved); FuzzBTF and
// FuzzBTFExt mutate only the .BTF or .BTF.ext section of a valid object;
// FuzzParseSpec describes objects as `rawload inspect` does; FuzzOpen runs
// Open, which reserves fd slots but creates nothing in the kernel;
// FuzzLoadImm64 decodes, encodes and patches ld_imm64 instructions. The
// ELF reader's own target is elf.FuzzParse, and the kernel environment's
// parsers (kconfig, kallsyms, possible CPUs) have theirs in
// internal/kernel. `.ci/run` runs each for 20 s.
//
// When fuzzing, the seeds are the few-KB objects of testdata/seeds: a
// fuzzer minimises every input that finds new coverage, and with the
// tens-of-KB test objects it spent its whole budget doing so. Keep
// -fuzzminimizetime short for the same reason. Run as plain tests, the
// targets also take every test object as a seed.
package fuzz
