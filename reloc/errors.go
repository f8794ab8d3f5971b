package reloc

import "errors"

var (
	// ErrUnsupported marks an object feature rawload does not handle yet.
	// Errors wrapping it name the feature.
	ErrUnsupported = errors.New("not supported")
	// ErrUnknownSection marks a program in a section whose name does not
	// map to a kernel program type.
	ErrUnknownSection = errors.New("unknown program section")
	// ErrMalformed marks object contents that contradict themselves:
	// relocations to nowhere, map definitions of the wrong shape.
	ErrMalformed = errors.New("malformed object")
	// ErrLimit marks an object that asks for more than rawload allocates
	// for one object, or more than the kernel would load: errors wrapping
	// it name the section or program and the limit.
	ErrLimit = errors.New("object exceeds a limit")
)
