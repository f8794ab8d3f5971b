package syscall

import "github.com/rawload/rawload/internal/uapi"

// ObjName converts s into the name field of a program or map. The kernel
// rejects names with characters other than [A-Za-z0-9_.] and names that do
// not fit, so rather than fail a load over a label, the other characters are
// dropped and the rest is cut to uapi.ObjNameLen-1 bytes.
func ObjName(s string) [uapi.ObjNameLen]byte {
	var name [uapi.ObjNameLen]byte
	n := 0
	for i := 0; i < len(s) && n < uapi.ObjNameLen-1; i++ {
		if c := s[i]; isNameChar(c) {
			name[n] = c
			n++
		}
	}
	return name
}

func isNameChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.'
}
