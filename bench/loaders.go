package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/cilium/ebpf"

	"github.com/rawload/rawload/bpf"
)

// The one life cycle each loader goes through in the comparison
// (cmd/compare, cmd/ciliumload, cmd/rawloadload and BenchmarkTools):
// read the object, load the chosen programs and create only the maps
// they use, close. libbpf's side is libbpf/loader.c.

// LoadRawload opens path with rawload, loads the programs named in progs
// (all if progs is empty) with Object.Load, which creates only the maps
// those programs use, and closes the Object. It returns the number of
// programs loaded.
func LoadRawload(path string, progs []string, opts *bpf.Options) (int, error) {
	obj, err := bpf.Open(path, opts)
	if err != nil {
		return 0, err
	}
	defer obj.Close()
	if len(progs) > 0 {
		for _, p := range obj.Programs() {
			if !slices.Contains(progs, p.Name()) {
				if err := p.SetAutoload(false); err != nil {
					return 0, err
				}
			}
		}
	}
	if err := obj.Load(context.Background()); err != nil {
		return 0, err
	}
	loaded := 0
	for _, p := range obj.Programs() {
		if p.FD() >= 0 {
			loaded++
		}
	}
	if err := obj.Close(); err != nil {
		return 0, err
	}
	return loaded, nil
}

// LoadCilium is LoadRawload for cilium/ebpf: LoadCollectionSpec, a spec
// narrowed to the chosen programs and the maps they refer to (so that
// NewCollection, which creates every map of a spec, creates no other),
// NewCollection, Close.
func LoadCilium(path string, progs []string) (int, error) {
	spec, err := ebpf.LoadCollectionSpec(path)
	if err != nil {
		return 0, err
	}
	if err := NarrowCiliumSpec(spec, progs); err != nil {
		return 0, err
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		return 0, err
	}
	n := len(coll.Programs)
	coll.Close()
	if n != len(spec.Programs) {
		return n, fmt.Errorf("cilium/ebpf loaded %d of %d programs", n, len(spec.Programs))
	}
	return n, nil
}

// NarrowCiliumSpec keeps in spec only the programs named in progs (all if
// empty) and the maps their instructions refer to, subprograms included.
func NarrowCiliumSpec(spec *ebpf.CollectionSpec, progs []string) error {
	if len(progs) > 0 {
		for _, name := range progs {
			if spec.Programs[name] == nil {
				return fmt.Errorf("no program %q", name)
			}
		}
		for name := range spec.Programs {
			if !slices.Contains(progs, name) {
				delete(spec.Programs, name)
			}
		}
	}
	if len(spec.Programs) == 0 {
		return errors.New("no programs to load")
	}
	used := make(map[string]bool)
	for _, p := range spec.Programs {
		for _, ins := range p.Instructions {
			if ref := ins.Reference(); ref != "" && ins.OpCode.IsDWordLoad() {
				used[ref] = true
			}
		}
	}
	for name, m := range spec.Maps {
		if !used[name] {
			delete(spec.Maps, name)
			continue
		}
		// A program array names programs by name; those not loaded
		// would make NewCollection fail with "missing program".
		if m.Type == ebpf.ProgramArray {
			m.Contents = slices.DeleteFunc(m.Contents, func(kv ebpf.MapKV) bool {
				target, ok := kv.Value.(string)
				return ok && spec.Programs[target] == nil
			})
		}
	}
	return nil
}
