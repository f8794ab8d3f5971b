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
)
