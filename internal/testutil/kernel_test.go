package testutil

import "testing"

// Where this test runs at all, bpf(2) works or its refusal skipped it;
// the probe's fd is closed either way.
func TestKernelTest(t *testing.T) {
	before := OpenFDs(t)
	RequireKernel(t)
	RequireKernel(t) // cached now
	if after := OpenFDs(t); after != before {
		t.Errorf("probing bpf(2) left %d fds, %d before", after, before)
	}
	KernelTest(t)
}
