package bpf

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

var (
	// ErrMapInUse is returned by Map.Destroy while a loaded program of the
	// Object uses the map.
	ErrMapInUse = errors.New("map is used by a loaded program")
	// ErrDisabled is returned when loading a program whose load type is
	// LoadDisabled.
	ErrDisabled = errors.New("program is disabled")
	// ErrLoadTypeFixed is returned when changing a load type after
	// Object.Load.
	ErrLoadTypeFixed = errors.New("load types are fixed once Object.Load has run")
	// ErrObjectNotLoaded is returned by Program.Load before Object.Load.
	ErrObjectNotLoaded = errors.New("Object.Load has not run")
	// ErrAlreadyLoaded is returned by a second Object.Load.
	ErrAlreadyLoaded = errors.New("Object.Load has already run")
	// ErrClosed is returned by every operation after Object.Close.
	ErrClosed = errors.New("object is closed")
	// ErrMapNotLive is returned by element operations on a map that has
	// not been created or was destroyed.
	ErrMapNotLive = errors.New("map is not live")
	// ErrIncompatibleMap is returned when a pinned or reused map differs
	// from the object's definition.
	ErrIncompatibleMap = errors.New("existing map does not match the definition")
	// ErrByteOrder is returned by Open for an object of the other byte
	// order than the running kernel's.
	ErrByteOrder = errors.New("object byte order differs from the kernel's")
	// ErrAttachUnsupported is returned by Attach for a section convention
	// rawload cannot attach yet.
	ErrAttachUnsupported = errors.New("attach not supported for this program kind")
	// ErrNotLoaded is returned by operations that need a loaded program.
	ErrNotLoaded = errors.New("program is not loaded")
)

// VerifierError is a program the kernel refused to load, with the
// verifier's log.
type VerifierError struct {
	Program string
	Errno   unix.Errno
	Log     string
}

func (e *VerifierError) Error() string {
	msg := fmt.Sprintf("program %s: load: %v", e.Program, e.Errno)
	if log := strings.TrimSpace(e.Log); log != "" {
		msg += ":\n" + log
	}
	return msg
}

func (e *VerifierError) Unwrap() error { return e.Errno }
