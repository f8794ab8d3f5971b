package bpf

import (
	"errors"
	"fmt"
	"strconv"
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
	// ErrStructOpsUnused is a struct_ops program no struct_ops map
	// points at: nothing says which kernel member it implements, so it
	// cannot load (and Object.Load leaves it out, as libbpf does).
	ErrStructOpsUnused = errors.New("struct_ops program used by no struct_ops map")
	// ErrNotLoaded is returned by operations that need a loaded program.
	ErrNotLoaded = errors.New("program is not loaded")
)

// VerifierError is a program that failed to load: refused by the kernel,
// with the verifier's log, or (within Object.Load) stopped earlier, by a
// map it needs or a feature rawload lacks, with that error as Err.
type VerifierError struct {
	Program string
	Errno   unix.Errno
	Log     string
	// Err is the failure that kept the program from reaching the
	// verifier; nil when the kernel refused it.
	Err error
}

// Error is one line: the program, the errno and the log's last meaningful
// line, where the verifier gave up and why. The whole log stays in Log:
// it holds kernel addresses that an application logging the error must
// not leak.
func (e *VerifierError) Error() string {
	if e.Err != nil {
		msg, _, _ := strings.Cut(e.Err.Error(), "\n")
		return msg
	}
	msg := fmt.Sprintf("program %s: load: %s", e.Program, errnoText(e.Errno))
	if reason := verifierReason(e.Log); reason != "" {
		msg += ": " + reason
	}
	return msg
}

func (e *VerifierError) Unwrap() error {
	if e.Err != nil {
		return e.Err
	}
	return e.Errno
}

// asVerifierError makes every failure of a program's load a
// *VerifierError naming the program, keeping the cause reachable.
func asVerifierError(p *Program, err error) error {
	var verr *VerifierError
	if errors.As(err, &verr) {
		return err
	}
	verr = &VerifierError{Program: p.Name(), Err: err}
	errors.As(err, &verr.Errno)
	return verr
}

// processedInsns reads "processed N insns" from a verifier log: the only
// count the kernel gives for a program it rejected.
func processedInsns(log string) uint32 {
	i := strings.LastIndex(log, "processed ")
	if i < 0 {
		return 0
	}
	fields := strings.Fields(log[i+len("processed "):])
	if len(fields) < 2 || fields[1] != "insns" {
		return 0
	}
	n, err := strconv.ParseUint(fields[0], 10, 32)
	if err != nil {
		return 0
	}
	return uint32(n)
}

// errnoText names the kernel-internal ENOTSUPP, which leaks out of
// bpf(2) for program kinds the kernel cannot load this way and which
// libc does not know.
func errnoText(errno unix.Errno) string {
	const enotsupp = 524
	if errno == enotsupp {
		return "ENOTSUPP (errno 524): not supported by the kernel"
	}
	return errno.Error()
}

// maskKernelAddresses replaces each kernel pointer the verifier prints
// (0xffff followed by 8 to 12 hex digits) with "0xffff…".
func maskKernelAddresses(line string) string {
	var b strings.Builder
	for {
		i := strings.Index(line, "0xffff")
		if i < 0 {
			b.WriteString(line)
			return b.String()
		}
		n := 0
		for n < 12 && i+6+n < len(line) && isHexDigit(line[i+6+n]) {
			n++
		}
		b.WriteString(line[:i])
		if n >= 8 {
			b.WriteString("0xffff…")
		} else {
			b.WriteString(line[i : i+6+n])
		}
		line = line[i+6+n:]
	}
}

func isHexDigit(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

// verifierReason is the last line of a verifier log before its
// statistics, with kernel addresses masked.
func verifierReason(log string) string {
	lines := strings.Split(strings.TrimSpace(log), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "processed ") || strings.HasPrefix(line, "verification time") ||
			strings.HasPrefix(line, "stack depth") {
			continue
		}
		return maskKernelAddresses(line)
	}
	return ""
}
