package bpf

import (
	"context"
	"slices"
	"testing"

	"github.com/rawload/rawload/syscall"
)

// TestProgramMapsMatchKernel checks that Program.Maps lists exactly the
// maps the kernel says each loaded program holds, bound ones included.
func TestProgramMapsMatchKernel(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("loader.o"), nil)
	if err := obj.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, p := range obj.Programs() {
		info, err := syscall.ProgInfoWithMapsByFD(p.FD())
		if err != nil {
			t.Fatal(err)
		}
		var ids []uint32
		for _, m := range p.Maps() {
			mi, err := syscall.MapInfoByFD(m.FD())
			if err != nil {
				t.Fatalf("%s: map %s: %v", p.Name(), m.Name(), err)
			}
			ids = append(ids, mi.ID)
		}
		got := slices.Sorted(slices.Values(info.MapIDs))
		slices.Sort(ids)
		if !slices.Equal(got, ids) {
			t.Errorf("%s: kernel holds maps %v, Program.Maps lists %v", p.Name(), got, ids)
		}
	}
}
