package uapi

// Sizes fixed by the UAPI.
const (
	// ObjNameLen is the size of the name fields of programs and maps,
	// terminating NUL included (BPF_OBJ_NAME_LEN).
	ObjNameLen = 16
	// TagSize is the size of a program tag (BPF_TAG_SIZE).
	TagSize = 8
	// MaxInsns is the most instruction slots BPF_PROG_LOAD takes from a
	// privileged loader (BPF_COMPLEXITY_LIMIT_INSNS of
	// include/linux/bpf.h); a longer program fails with E2BIG.
	MaxInsns = 1_000_000
)

// Verifier log levels (BPF_LOG_* of include/linux/bpf_verifier.h).
const (
	LogLevel1     = 1 // BPF_LOG_LEVEL1: the path that failed, and the totals
	LogLevel2     = 2 // BPF_LOG_LEVEL2: every path, with register state
	LogLevelStats = 4 // BPF_LOG_STATS: verification time and stack depth
	LogLevelFixed = 8 // BPF_LOG_FIXED: keep the head of a log that does not fit, not the tail
)
