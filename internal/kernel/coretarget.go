package kernel

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/rawbtf"
)

// CORETarget returns the vmlinux BTF that CO-RE relocations of local
// types named names can match: every type whose essential name (without
// a ___flavour) is one of names, and every type those refer to, directly
// or not, renumbered (structs behind pointers as shells: see closure).
// CO-RE computes the same offsets, sizes, existence
// and enum values against it as against all of vmlinux, for a fraction of
// the time and memory of parsing all of it; only target type ids
// (bpf_core_type_id_kernel) differ, so an object with those needs
// Vmlinux.
//
// Only a process's first object takes that path: the second parses
// vmlinux whole, once, for every later one, where each reduced target
// costs a pass over vmlinux of its own. When vmlinux has been parsed
// whole already, or its file is not plain BTF, CORETarget returns
// Vmlinux.
func (e *Env) CORETarget(names []string) (*btf.Spec, error) {
	if spec, ok := e.vmlinux.peek(); ok {
		return spec, nil
	}
	if e.rawLookups.Add(rawCORECost) > maxRawLookups {
		return e.Vmlinux()
	}
	raw, err := e.vmlinuxRaw.get(e.loadVmlinuxRaw)
	if err != nil {
		return e.Vmlinux()
	}
	want := make(map[string]bool, len(names))
	for _, name := range names {
		want[string(rawbtf.EssentialName([]byte(name)))] = true
	}
	roots := raw.Find(want, true, func(kind uint8) bool { return kind != rawbtf.KindFunc })
	ids, shells, err := raw.Closure(roots)
	if err != nil {
		return nil, fmt.Errorf("vmlinux BTF: %w", err)
	}
	blob := raw.Extract(ids, shells, nil).Blob
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(blob))
	if err != nil {
		return nil, fmt.Errorf("vmlinux BTF, %d types for CO-RE: %w", len(ids), err)
	}
	return spec, nil
}

// Lookups in undecoded vmlinux each pass over all of it; parsing it whole
// costs about what maxRawLookups single-name lookups do, or two CO-RE
// targets, and makes every later lookup free. Past that budget, an Env
// parses it.
const (
	maxRawLookups = 12
	rawCORECost   = 7
)

// loadVmlinuxRaw maps vmlinux BTF (reading it where it cannot be mapped)
// and indexes its types. The mapping is kept for the Env's life.
func (e *Env) loadVmlinuxRaw() (*rawbtf.BTF, error) {
	data, mapped, err := mapFile(filepath.Join(e.paths.BTFDir, "vmlinux"))
	if err != nil {
		return nil, err
	}
	raw, err := rawbtf.Parse(data)
	if err != nil {
		if mapped {
			unix.Munmap(data)
		}
		return nil, fmt.Errorf("vmlinux BTF: %w", err)
	}
	return raw, nil
}

// mapFile maps path read-only, or reads it when it cannot be mapped.
func mapFile(path string) (data []byte, mapped bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	if size := info.Size(); size > 0 && size < 1<<30 {
		if data, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_PRIVATE); err == nil {
			return data, true, nil
		}
	}
	data, err = os.ReadFile(path)
	return data, false, err
}

// FindTypeID is FindType in the running kernel's BTF for callers that need
// only the id (and a module's BTF fd): attach targets, ksyms, kfuncs. A
// type in vmlinux is found in its undecoded BTF, without parsing it all;
// the returned Type has no Type then. Otherwise it is FindType(nil, ...).
func (e *Env) FindTypeID(name string, kind btf.Type, fds *ModuleFDs) (Type, error) {
	if _, parsed := e.vmlinux.peek(); !parsed {
		want, ok := rawKind(kind)
		key := rawLookupKey{name, want}
		if id, found := e.rawFound.get(key); ok && found {
			return Type{ID: btf.TypeID(id)}, nil
		}
		if ok && e.rawLookups.Add(1) <= maxRawLookups {
			if raw, err := e.vmlinuxRaw.get(e.loadVmlinuxRaw); err == nil {
				if id := raw.FindFirst(name, func(k uint8) bool { return want == 0 || k == want }); id != 0 {
					e.rawFound.put(key, id)
					return Type{ID: btf.TypeID(id)}, nil
				}
			}
		}
	}
	return e.FindType(nil, name, kind, fds)
}

// rawLookupKey is a name and kind FindTypeID found in undecoded vmlinux.
type rawLookupKey struct {
	name string
	kind uint8
}

// rawFoundIDs keeps what FindTypeID found in undecoded vmlinux, so that the
// same kfunc or ksym named by many programs costs one pass over it, and
// one lookup of the budget. vmlinux does not change; what was not found
// is not kept.
type rawFoundIDs struct {
	mu    sync.Mutex
	found map[rawLookupKey]uint32
}

func (r *rawFoundIDs) get(key rawLookupKey) (uint32, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id, ok := r.found[key]
	return id, ok
}

func (r *rawFoundIDs) put(key rawLookupKey, id uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.found == nil {
		r.found = make(map[rawLookupKey]uint32)
	}
	r.found[key] = id
}

// vmlinuxHasFunc reports whether vmlinux BTF describes a function called
// name: in the parsed BTF when the process has it, in the undecoded BTF
// otherwise. False when there is no vmlinux BTF.
func (e *Env) vmlinuxHasFunc(name string) bool {
	if spec, parsed := e.vmlinux.peek(); parsed {
		typ, _, err := lookupType(spec, name, (*btf.Func)(nil))
		return err == nil && typ != nil
	}
	raw, err := e.vmlinuxRaw.get(e.loadVmlinuxRaw)
	return err == nil && raw.FindFirst(name, func(k uint8) bool { return k == rawbtf.KindFunc }) != 0
}

// rawKind is the BTF kind of the typed nil kind, 0 for any kind; false
// for a kind FindTypeID does not look up itself.
func rawKind(kind btf.Type) (uint8, bool) {
	switch kind.(type) {
	case nil:
		return 0, true
	case *btf.Func:
		return rawbtf.KindFunc, true
	case *btf.Var:
		return rawbtf.KindVar, true
	case *btf.Typedef:
		return rawbtf.KindTypedef, true
	case *btf.Struct:
		return rawbtf.KindStruct, true
	case *btf.Union:
		return rawbtf.KindUnion, true
	}
	return 0, false
}
