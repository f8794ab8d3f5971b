package bpf

import (
	"context"
	"testing"
)

// TestReloadAllocs: reloading a loaded program reuses its final
// instructions and needs no heap beyond the log buffer.
func TestReloadAllocs(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("reload.o"), nil)
	must(t, obj.Load(context.Background()))
	p := obj.Programs()[0]
	allocs := testing.AllocsPerRun(50, func() {
		if err := p.Unload(); err != nil {
			t.Fatal(err)
		}
		if err := p.Load(); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("Unload+Load of %s: %.1f allocations", p.Name(), allocs)
	if allocs > 0 {
		t.Errorf("Unload+Load of %s: %.1f allocations, want 0", p.Name(), allocs)
	}
}
