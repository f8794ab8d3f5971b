package gen

import "strconv"

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
