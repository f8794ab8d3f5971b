// Package fuzz holds Go fuzz targets over rawload's parsers and relocator:
// whatever bytes come in, they return an error or a result whose every
// index and offset is safe to use, and never panic.
//
//	go test ./fuzz -run '^$' -fuzz FuzzLink -fuzztime 60s
//
// The ELF reader's own target is elf.FuzzParse.
package fuzz
