package syscall

const (
	// ObjNameLen is the size of the name fields of programs and maps,
	// terminating NUL included (BPF_OBJ_NAME_LEN).
	ObjNameLen = 16
	// TagSize is the size of a program tag (BPF_TAG_SIZE).
	TagSize = 8
)

// ObjName converts s into the name field of a program or map. The kernel
// rejects names with characters other than [A-Za-z0-9_.] and names that do
// not fit, so rather than fail a load over a label, the other characters are
// dropped and the rest is cut to ObjNameLen-1 bytes.
func ObjName(s string) [ObjNameLen]byte {
	var name [ObjNameLen]byte
	n := 0
	for i := 0; i < len(s) && n < ObjNameLen-1; i++ {
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
