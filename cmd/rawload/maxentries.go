package main

import (
	"flag"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/rawload/rawload/bpf"
)

// mapSizes is the repeatable --max-entries NAME=N flag: the sizes of maps
// that an object leaves to user space, or that a user wants otherwise.
type mapSizes map[string]uint32

func (s mapSizes) String() string {
	var parts []string
	for name, n := range s {
		parts = append(parts, fmt.Sprintf("%s=%d", name, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func (s mapSizes) Set(v string) error {
	name, n, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("%q: want NAME=N", v)
	}
	size, err := strconv.ParseUint(n, 0, 32)
	if err != nil {
		return fmt.Errorf("%q: %w", v, err)
	}
	s[name] = uint32(size)
	return nil
}

// addMaxEntriesFlag registers --max-entries on fs.
func addMaxEntriesFlag(fs *flag.FlagSet) mapSizes {
	sizes := mapSizes{}
	fs.Var(sizes, "max-entries", "create map NAME with N entries (NAME=N, repeatable)")
	return sizes
}

// apply sets the sizes on obj's maps before anything is created. An
// object that has no map of a name given is left alone when lenient
// (verify takes one set of sizes for many objects), refused otherwise.
func (s mapSizes) apply(obj *bpf.Object, lenient bool) error {
	for name, n := range s {
		m := obj.Map(name)
		if m == nil {
			if lenient {
				continue
			}
			return fmt.Errorf("--max-entries %s=%d: no map %q", name, n, name)
		}
		if err := m.SetMaxEntries(n); err != nil {
			return err
		}
	}
	return nil
}
