package bpf

import (
	"errors"
	"fmt"

	"github.com/rawload/rawload/internal/kernel"
	"github.com/rawload/rawload/reloc"
)

// kconfigContents computes the value of the .kconfig map from the kernel's
// configuration: each extern variable at its offset. A weak extern the
// configuration lacks stays zero; a strong one is an error.
func kconfigContents(env *kernel.Env, spec *reloc.MapSpec) ([]byte, error) {
	contents := make([]byte, spec.ValueSize)
	for _, v := range spec.Kconfig {
		value, found, err := env.KconfigValue(v.Name, v.Type, v.Size)
		if errors.Is(err, kernel.ErrKconfigTruncated) {
			// libbpf keeps what fits, terminated, and goes on.
			err = nil
		}
		if err != nil {
			return nil, fmt.Errorf("kconfig %s: %w", v.Name, err)
		}
		if !found {
			if v.Weak {
				continue
			}
			return nil, fmt.Errorf("kconfig %s: not set in the kernel's configuration (declare it __weak to default to zero)", v.Name)
		}
		if uint64(v.Offset)+uint64(len(value)) > uint64(len(contents)) {
			return nil, fmt.Errorf("kconfig %s: %d bytes at offset %d exceed the map's %d", v.Name, len(value), v.Offset, len(contents))
		}
		copy(contents[v.Offset:], value)
	}
	return contents, nil
}
