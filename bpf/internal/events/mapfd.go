package events

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/bpf"
	"github.com/rawload/rawload/syscall"
)

// DupMap returns an fd of the reader's own for the live map m, with what
// the kernel says of it, after checking its type is want. A reader needs
// its own reference: its mappings and the perf events it stores must
// outlive a Destroy or Close of the Object.
func DupMap(m *bpf.Map, want bpf.MapType) (int, *syscall.MapInfo, error) {
	fd, err := m.DupFD()
	if err != nil {
		return -1, nil, err
	}
	info, err := syscall.MapInfoByFD(fd)
	if err != nil {
		unix.Close(fd)
		return -1, nil, fmt.Errorf("map %s: info: %w", m.Name(), err)
	}
	if got := bpf.MapType(info.Type); got != want {
		unix.Close(fd)
		return -1, nil, fmt.Errorf("map %s is a %s map, not %s", m.Name(), got, want)
	}
	return fd, info, nil
}
