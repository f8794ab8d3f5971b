package gen

import (
	"strconv"
	"strings"
)

// goName turns a C identifier into an exported Go one: each word (a
// run of letters and digits between '_', '.' or '-') starts with a
// capital, a word in capitals continues in lower case, and the rest is
// kept ("handle_exec" is HandleExec, ".rodata" Rodata, "KIND_OPEN"
// KindOpen, "ifIndex" IfIndex). A name starting with a digit, or with
// nothing Go can use, gets an X in front.
func goName(c string) string {
	b := make([]byte, 0, len(c)+1)
	start := true // at the start of a word
	lower := false
	for i := 0; i < len(c); i++ {
		ch := c[i]
		switch {
		case 'a' <= ch && ch <= 'z':
			if start {
				ch -= 'a' - 'A'
			}
		case 'A' <= ch && ch <= 'Z':
			if start {
				lower = !hasLower(c[i:])
			} else if lower {
				ch += 'a' - 'A'
			}
		case '0' <= ch && ch <= '9':
		default:
			// x86_64 stays X86_64: digits either side keep the '_'.
			if ch == '_' && len(b) > 0 && isDigit(b[len(b)-1]) && i+1 < len(c) && isDigit(c[i+1]) {
				b = append(b, ch)
			}
			start = true
			continue
		}
		b = append(b, ch)
		start = false
	}
	if len(b) == 0 || isDigit(b[0]) {
		b = append([]byte{'X'}, b...)
	}
	return string(b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// goKeywords are the words a package cannot be named.
const goKeywords = " break case chan const continue default defer else fallthrough for func go goto if import interface map package range return select struct switch type var "

// isPackageName says whether name can follow package in a Go file: an
// identifier, not a keyword or _. Letters beyond ASCII are left to the
// compiler, which knows Unicode's tables.
func isPackageName(name string) bool {
	if name == "" || name == "_" || isDigit(name[0]) || strings.Contains(goKeywords, " "+name+" ") {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || isDigit(c) || c == '_' || c >= 0x80) {
			return false
		}
	}
	return true
}

// hasLower says whether the word starting s has a lower-case letter.
func hasLower(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z':
			return true
		case c == '_' || c == '.' || c == '-':
			return false
		}
	}
	return false
}

// lowerFirst makes an exported name unexported.
func lowerFirst(s string) string {
	if s != "" && 'A' <= s[0] && s[0] <= 'Z' {
		return string(s[0]+'a'-'A') + s[1:]
	}
	return s
}

// namespace hands out unique identifiers. The first claim of a name
// gets it; later ones get the first free suffix they offer, then a
// number: deterministic for a deterministic order of claims.
type namespace map[string]bool

func (ns namespace) claim(name string, suffixes ...string) string {
	if !ns[name] {
		ns[name] = true
		return name
	}
	for _, s := range suffixes {
		if !ns[name+s] {
			ns[name+s] = true
			return name + s
		}
	}
	for i := 2; ; i++ {
		if n := name + strconv.Itoa(i); !ns[n] {
			ns[n] = true
			return n
		}
	}
}

// reserve marks names as taken.
func (ns namespace) reserve(names ...string) {
	for _, n := range names {
		ns[n] = true
	}
}
