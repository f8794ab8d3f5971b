package bpf

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

func TestProcessedInsns(t *testing.T) {
	const log = `func#0 @0
0: R1=ctx() R10=fp0
5: (79) r1 = *(u64 *)(r0 +0)
R0 invalid mem access 'map_value_or_null'
processed 7 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
`
	if got := processedInsns(log); got != 7 {
		t.Errorf("processedInsns: %d, want 7", got)
	}
	for _, bad := range []string{"", "processed", "processed x insns", "processed 3 states", "processed 99999999999 insns"} {
		if got := processedInsns(bad); got != 0 {
			t.Errorf("processedInsns(%q) = %d, want 0", bad, got)
		}
	}
}

func TestVerifierErrorIsOneLine(t *testing.T) {
	const log = `func#0 @0
0: R1=ctx() R10=fp0
0: (18) r1 = 0xffff8881054a3c00
5: (79) r1 = *(u64 *)(r0 +0)
R0 invalid mem access 'map_value_or_null' at 0xffff8881054a3c08
processed 7 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
`
	err := error(&VerifierError{Program: "p", Errno: unix.EACCES, Log: log})
	want := "program p: load: permission denied: R0 invalid mem access 'map_value_or_null' at 0xffff…"
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, unix.EACCES) {
		t.Error("errno not reachable")
	}
	if got := (&VerifierError{Program: "p", Errno: 524}).Error(); got != "program p: load: ENOTSUPP (errno 524): not supported by the kernel" {
		t.Errorf("ENOTSUPP: %q", got)
	}
	wrapped := &VerifierError{Program: "p", Err: errors.New("loading object BTF: invalid argument\nmulti\nline")}
	if got := wrapped.Error(); got != "loading object BTF: invalid argument" {
		t.Errorf("wrapped: %q", got)
	}
}

func TestMaskKernelAddresses(t *testing.T) {
	for in, want := range map[string]string{
		"r1 = 0xffff8881054a3c00":                   "r1 = 0xffff…",
		"a 0xffff12 b":                              "a 0xffff12 b",
		"0xffff888105aabbcc and 0xffffffff81000000": "0xffff… and 0xffff…",
		"no address":                                "no address",
		"R2=0xffffc9000":                            "R2=0xffffc9000",
	} {
		if got := maskKernelAddresses(in); got != want {
			t.Errorf("maskKernelAddresses(%q) = %q, want %q", in, got, want)
		}
	}
}
