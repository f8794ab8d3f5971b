package main

import (
	"flag"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/rawload/rawload/bpf"
)

// mapSetting is a repeatable NAME=N flag that sets one parameter of the
// maps it names before anything is created: --max-entries for the sizes
// an object leaves to user space, --value-size for stack depths.
type mapSetting struct {
	flag   string
	values map[string]uint32
	set    func(m *bpf.Map, n uint32) error
}

func (s *mapSetting) String() string {
	if s == nil {
		return ""
	}
	var parts []string
	for name, n := range s.values {
		parts = append(parts, fmt.Sprintf("%s=%d", name, n))
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
	return strings.Join(parts, ",")
}

func (s *mapSetting) Set(v string) error {
	name, n, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("%q: want NAME=N", v)
	}
	size, err := strconv.ParseUint(n, 0, 32)
	if err != nil {
		return fmt.Errorf("%q: %w", v, err)
	}
	s.values[name] = uint32(size)
	return nil
}

// mapSizes are the map settings a command takes.
type mapSizes []*mapSetting

// addMaxEntriesFlag registers --max-entries and --value-size on fs.
func addMaxEntriesFlag(fs *flag.FlagSet) mapSizes {
	entries := &mapSetting{flag: "max-entries", values: map[string]uint32{}, set: (*bpf.Map).SetMaxEntries}
	values := &mapSetting{flag: "value-size", values: map[string]uint32{}, set: (*bpf.Map).SetValueSize}
	fs.Var(entries, "max-entries", "create map NAME with N entries (NAME=N, repeatable)")
	fs.Var(values, "value-size", "create map NAME with N-byte values, such as a stack map's depth times 8 (NAME=N, repeatable)")
	return mapSizes{entries, values}
}

// apply sets the sizes on obj's maps before anything is created. An
// object that has no map of a name given is left alone when lenient
// (verify takes one set of sizes for many objects), refused otherwise.
func (sizes mapSizes) apply(obj *bpf.Object, lenient bool) error {
	for _, s := range sizes {
		for name, n := range s.values {
			m := obj.Map(name)
			if m == nil {
				if lenient {
					continue
				}
				return fmt.Errorf("--%s %s=%d: no map %q", s.flag, name, n, name)
			}
			if err := s.set(m, n); err != nil {
				return err
			}
		}
	}
	return nil
}
