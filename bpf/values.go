package bpf

import (
	"encoding/binary"
	"fmt"

	"github.com/rawload/rawload/syscall"
)

// writeValuesLocked writes the initial elements of a freshly created map
// of maps (its inner maps) or program array (its programs that are
// loaded now; the others fill their slot when they load). obj.mu is held.
func (m *Map) writeValuesLocked() error {
	for _, v := range m.spec.Values {
		var fd int
		if v.Map >= 0 {
			fd = m.obj.maps[v.Map].slot
		} else if prog := m.obj.Program(v.Program); prog != nil && prog.fd >= 0 {
			fd = prog.fd
		} else {
			continue
		}
		if err := m.setSlot(v.Index, fd); err != nil {
			return err
		}
	}
	return nil
}

func (m *Map) setSlot(index uint32, fd int) error {
	key := binary.NativeEndian.AppendUint32(nil, index)
	value := binary.NativeEndian.AppendUint32(nil, uint32(fd))
	if err := syscall.MapUpdateElem(m.slot, key, value, 0); err != nil {
		return fmt.Errorf("map %s: setting element %d to fd %d: %w", m.Name(), index, fd, err)
	}
	return nil
}

// progArraySlot is an element of a program array that the object's
// values give to a program.
type progArraySlot struct {
	m     *Map
	index uint32
}

// fillProgArraysLocked puts a program that just loaded into the live
// program arrays whose values name it. obj.mu is held.
func (p *Program) fillProgArraysLocked(fd int) error {
	for _, s := range p.progArraySlots {
		if !s.m.live.Load() {
			continue
		}
		if err := s.m.setSlot(s.index, fd); err != nil {
			return err
		}
	}
	return nil
}

// clearProgArraysLocked empties the program array elements of a program
// about to unload, so no tail call reaches a program the user unloaded.
func (p *Program) clearProgArraysLocked() {
	for _, s := range p.progArraySlots {
		if !s.m.live.Load() {
			continue
		}
		// Best effort: an element already gone, or replaced by the user,
		// leaves nothing of this program to clear.
		key := binary.NativeEndian.AppendUint32(nil, s.index)
		syscall.MapDeleteElem(s.m.slot, key)
	}
}

// progArraySlotsOf lists the program array elements whose values name
// the program.
func (o *Object) progArraySlotsOf(name string) []progArraySlot {
	var slots []progArraySlot
	for _, m := range o.maps {
		for _, v := range m.spec.Values {
			if v.Program == name {
				slots = append(slots, progArraySlot{m, v.Index})
			}
		}
	}
	return slots
}
