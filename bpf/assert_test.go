package bpf

import (
	"slices"
	"testing"

	"github.com/rawload/rawload/syscall"
)

func syscallMapInfo(fd int) (uint32, error) {
	info, err := syscall.MapInfoByFD(fd)
	if err != nil {
		return 0, err
	}
	return info.ID, nil
}

// assertProgramMaps checks there is no split brain: the maps the kernel
// says a loaded program uses are exactly the live maps in its slots.
func assertProgramMaps(t *testing.T, p *Program) {
	t.Helper()
	fd := p.FD()
	if fd < 0 {
		return
	}
	info, err := syscall.ProgInfoWithMapsByFD(fd)
	if err != nil {
		t.Fatalf("%s: prog info: %v", p.Name(), err)
	}
	var want []uint32
	for _, m := range p.usedMaps() {
		id, err := syscallMapInfo(m.FD())
		if err != nil {
			t.Fatalf("%s: map %s in slot %d: %v", p.Name(), m.Name(), m.FD(), err)
		}
		want = append(want, id)
	}
	got := slices.Clone(info.MapIDs)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: kernel reports map ids %v, its slots hold %v", p.Name(), got, want)
	}
}
