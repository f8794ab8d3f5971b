package elf

import (
	"errors"
	"fmt"
)

var (
	// ErrNotELF means the input does not start with the ELF magic.
	ErrNotELF = errors.New("not an ELF file")
	// ErrUnsupported means the input is a valid ELF file of a kind that BPF
	// objects never are (ELF32, another machine, an executable, extended
	// section numbering, SHT_RELA, ...).
	ErrUnsupported = errors.New("unsupported ELF file")
	// ErrMalformed means the input claims to be ELF but contradicts itself
	// or its own size.
	ErrMalformed = errors.New("malformed ELF file")
)

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnsupported}, args...)...)
}

// fits reports whether [off, off+size) lies within [0, limit) without
// computing off+size, which a hostile header can make overflow.
func fits(off, size, limit uint64) bool {
	return off <= limit && size <= limit-off
}
