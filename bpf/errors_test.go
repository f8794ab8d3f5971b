package bpf

import "testing"

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
