package bpf

import (
	"fmt"

	"github.com/rawload/rawload/reloc"
)

// Variable is a global of .data, .rodata or .bss (or a named variant). It
// reads and writes the mmapped map while the map is live, and the
// contents the map will be created with while it is not: that is how
// .rodata is configured before Object.Load.
type Variable struct {
	spec *reloc.Variable
	m    *Map
}

// Variable returns the global of that name.
func (o *Object) Variable(name string) (*Variable, error) {
	v, ok := o.vars[name]
	if !ok {
		return nil, fmt.Errorf("object %s: no global variable %q", o.name, name)
	}
	return &Variable{spec: v, m: o.maps[v.Map]}, nil
}

// Name is the variable's symbol name.
func (v *Variable) Name() string { return v.spec.Name }

// Size is the variable's size in bytes.
func (v *Variable) Size() int { return int(v.spec.Size) }

// Read copies the variable's current value into p; len(p) must be Size().
func (v *Variable) Read(p []byte) error {
	if len(p) != v.Size() {
		return fmt.Errorf("variable %s: buffer of %d bytes, want %d", v.Name(), len(p), v.Size())
	}
	v.m.state.RLock()
	defer v.m.state.RUnlock()
	if v.m.closed {
		return fmt.Errorf("variable %s: %w", v.Name(), ErrClosed)
	}
	copy(p, v.bytes())
	return nil
}

// Write sets the variable to p; len(p) must be Size(). A read-only
// variable can only be written before its map is created.
func (v *Variable) Write(p []byte) error {
	if len(p) != v.Size() {
		return fmt.Errorf("variable %s: value of %d bytes, want %d", v.Name(), len(p), v.Size())
	}
	v.m.state.Lock()
	defer v.m.state.Unlock()
	if v.m.closed {
		return fmt.Errorf("variable %s: %w", v.Name(), ErrClosed)
	}
	if v.m.mem != nil && v.m.spec.Freeze {
		return fmt.Errorf("variable %s: %s is frozen once created", v.Name(), v.m.Name())
	}
	copy(v.bytes(), p)
	return nil
}

// bytes is the variable's storage: the mapped value or the pending
// contents. m.state is held.
func (v *Variable) bytes() []byte {
	buf := v.m.contents
	if v.m.mem != nil {
		buf = v.m.mem
	}
	return buf[v.spec.Offset : v.spec.Offset+v.spec.Size]
}
