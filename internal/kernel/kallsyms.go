package kernel

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
)

var (
	// ErrKallsymsHidden is returned for a symbol whose address the kernel
	// hides: /proc/kallsyms shows every address as 0 to a reader that
	// kernel.kptr_restrict does not trust.
	ErrKallsymsHidden = errors.New("/proc/kallsyms shows every address as 0: kernel.kptr_restrict hides them (needs CAP_SYSLOG with kptr_restrict=1, or kptr_restrict=0)")
	// ErrKallsymsAmbiguous is returned for a name that /proc/kallsyms
	// lists at two different addresses, such as static functions of the
	// same name in two files; libbpf refuses those too.
	ErrKallsymsAmbiguous = errors.New("symbol has more than one address")
)

// kallsyms is the text of /proc/kallsyms, read once per Env and kept as
// the text itself.
//
// Reading it costs ~60 ms, all of it the kernel formatting ~120k lines
// (~200k with KALLSYMS_ALL). A map of every name would cost twice the
// text's 5 MB in small strings that the garbage collector scans forever,
// to serve the few ksyms an object names; the text is one pointer-free
// block. Finding a name in it takes ~2 ms, so each answer is remembered:
// objects loaded one after another tend to ask for the same few names.
type kallsyms struct {
	text   []byte
	hidden bool // every address is 0

	mu      sync.Mutex
	answers map[string]kallsymsAnswer
}

type kallsymsAnswer struct {
	addr  uint64
	found bool
	err   error
}

func (e *Env) kallsymsText() (*kallsyms, error) {
	return e.kallsyms.get(func() (*kallsyms, error) {
		text, err := os.ReadFile(e.paths.Kallsyms)
		if err != nil {
			return nil, err
		}
		return &kallsyms{text: text, hidden: !hasNonzeroAddress(text)}, nil
	})
}

// lookup is lookupKallsyms on ks.text, remembered. Every answer is a
// property of the text, so errors are remembered too.
func (ks *kallsyms) lookup(name string) (uint64, bool, error) {
	ks.mu.Lock()
	a, ok := ks.answers[name]
	ks.mu.Unlock()
	if ok {
		return a.addr, a.found, a.err
	}

	a.addr, a.found, a.err = lookupKallsyms(ks.text, name)

	ks.mu.Lock()
	defer ks.mu.Unlock()
	if ks.answers == nil {
		ks.answers = make(map[string]kallsymsAnswer)
	}
	ks.answers[name] = a
	return a.addr, a.found, a.err
}

// KallsymsAddress finds the address of the kernel or module symbol name
// ("name" or "name\t[module]" in /proc/kallsyms). found is false when the
// kernel has no such symbol; with KALLSYMS_ALL unset it lists functions
// only, not variables. It is an error when the kernel hides addresses, or
// lists the name at two different ones.
func (e *Env) KallsymsAddress(name string) (addr uint64, found bool, err error) {
	ks, err := e.kallsymsText()
	if err != nil {
		return 0, false, err
	}
	addr, found, err = ks.lookup(name)
	if err != nil || !found {
		return 0, false, err
	}
	if ks.hidden {
		return 0, false, fmt.Errorf("kallsyms %s: %w", name, ErrKallsymsHidden)
	}
	return addr, true, nil
}

// KallsymsHas reports whether the kernel has the symbol name, even where
// its address is hidden.
func (e *Env) KallsymsHas(name string) (bool, error) {
	ks, err := e.kallsymsText()
	if err != nil {
		return false, err
	}
	_, found, err := ks.lookup(name)
	if errors.Is(err, ErrKallsymsAmbiguous) {
		return true, nil
	}
	return found, err
}

// lookupKallsyms finds name in the text of /proc/kallsyms, whose lines are
// "address type name" with "\t[module]" after a module's symbols. A name
// containing white space is never found.
func lookupKallsyms(text []byte, name string) (addr uint64, found bool, err error) {
	if name == "" || strings.ContainsAny(name, " \t\n") {
		return 0, false, nil
	}
	pattern := []byte(" " + name)
	for rest := text; ; {
		i := bytes.Index(rest, pattern)
		if i < 0 {
			return addr, found, nil
		}
		start := len(text) - len(rest) + i
		end := start + len(pattern)
		rest = rest[i+len(pattern):]
		if end < len(text) && text[end] != '\n' && text[end] != '\t' {
			continue // a longer name
		}

		lineStart := bytes.LastIndexByte(text[:start], '\n') + 1
		field, typ, ok := bytes.Cut(text[lineStart:start], []byte(" "))
		if !ok || len(typ) != 1 {
			continue // not "address type name"
		}
		a, err := strconv.ParseUint(string(field), 16, 64)
		if err != nil {
			return 0, false, fmt.Errorf("kallsyms line %q: %w", text[lineStart:end], err)
		}
		if found && a != addr {
			return 0, false, fmt.Errorf("kallsyms %s: %#x and %#x: %w", name, addr, a, ErrKallsymsAmbiguous)
		}
		addr, found = a, true
	}
}

// hasNonzeroAddress reports whether any line of text shows an address.
// Where kptr_restrict hides them every address is 0; where it does not,
// the search stops at the first line.
func hasNonzeroAddress(text []byte) bool {
	for line := range bytes.Lines(text) {
		field, _, _ := bytes.Cut(line, []byte(" "))
		if len(bytes.Trim(field, "0")) > 0 {
			return true
		}
	}
	return false
}
