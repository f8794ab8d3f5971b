package bpf

import (
	"fmt"

	"github.com/rawload/rawload/syscall"
)

// MapInfo is what the kernel says of a live map.
type MapInfo struct {
	ID         uint32
	Name       string
	Type       MapType
	KeySize    uint32
	ValueSize  uint32
	MaxEntries uint32
	Flags      uint32
	MapExtra   uint64
}

// Info asks the kernel about the live map.
func (m *Map) Info() (MapInfo, error) {
	m.state.RLock()
	defer m.state.RUnlock()
	if err := m.usableLocked("info"); err != nil {
		return MapInfo{}, err
	}
	info, err := syscall.MapInfoByFD(m.slot)
	if err != nil {
		return MapInfo{}, fmt.Errorf("map %s: info: %w", m.Name(), err)
	}
	return MapInfo{
		ID:         info.ID,
		Name:       info.Name,
		Type:       MapType(info.Type),
		KeySize:    info.KeySize,
		ValueSize:  info.ValueSize,
		MaxEntries: info.MaxEntries,
		Flags:      info.MapFlags,
		MapExtra:   info.MapExtra,
	}, nil
}
