package kernel

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// ErrTypeNotFound is returned when a type an object needs from the kernel,
// a CO-RE target, an attach target or a ksym, is in neither vmlinux nor
// any module's BTF.
var ErrTypeNotFound = errors.New("not found in kernel BTF")

// Vmlinux returns the kernel's vmlinux BTF, parsed on the first call that
// succeeds and shared by every later caller: parsing costs ~11 ms and 5.5
// MB, which a loader that parses per object or per program pays again and
// again. btf.Spec is safe for concurrent use; nobody may modify the types
// it returns.
//
// A failure is not kept: a BTF file that appears later, or an fd or
// memory shortage that passes, makes the next call succeed.
func (e *Env) Vmlinux() (*btf.Spec, error) {
	return e.vmlinux.get(e.loadVmlinux)
}

// loadVmlinux parses vmlinux BTF afresh; it reads files and makes no
// bpf(2) call. The kernel's own file goes through btf.LoadKernelSpec,
// which maps it rather than reading 5.5 MB, and falls back to a vmlinux
// image on disk for a kernel without /sys/kernel/btf. Any other directory
// is a stand-in whose vmlinux is read as it is.
func (e *Env) loadVmlinux() (*btf.Spec, error) {
	if e.paths.BTFDir == DefaultBTFDir {
		spec, err := btf.LoadKernelSpec()
		if err != nil {
			return nil, fmt.Errorf("loading kernel BTF: %w", err)
		}
		return spec, nil
	}
	path := filepath.Join(e.paths.BTFDir, "vmlinux")
	spec, err := btf.LoadSpec(path)
	var pathErr *fs.PathError
	switch {
	case errors.As(err, &pathErr):
		return nil, fmt.Errorf("loading kernel BTF: %w", err) // names path
	case err != nil:
		return nil, fmt.Errorf("loading kernel BTF %s: %w", path, err)
	}
	return spec, nil
}

// Type is a named type found in the kernel's BTF.
type Type struct {
	Type btf.Type
	// ID is the type's id within its BTF object. Module BTF is split BTF
	// whose ids continue after vmlinux's, and the kernel numbers them the
	// same way, so this is the id PROG_LOAD and the verifier expect.
	ID     btf.TypeID
	Module string // "" for vmlinux
	// BTFFD is 0 for vmlinux. For a module it is the fd, held by the
	// ModuleFDs passed to FindType, of the module's kernel BTF object,
	// which PROG_LOAD needs as attach_btf_obj_fd and in fd_array whenever
	// an id refers to module BTF. It is valid until that set closes.
	BTFFD int
}

// FindType finds the type called name whose kind is that of kind, a typed
// nil such as (*btf.Func)(nil); an untyped nil kind matches any kind. It
// looks in base first, which is e's vmlinux BTF or a caller's replacement
// for it (nil means e's). Module BTF is searched after e's own vmlinux
// only: module BTF is split on the running vmlinux and means nothing on
// top of another base. The fd of a module that has the type comes from
// fds, which opens it on first need; with nil fds a type found in a module
// is an error.
//
// When several types match, the one with the lowest id wins, as in
// libbpf's btf__find_by_name_kind.
func (e *Env) FindType(base *btf.Spec, name string, kind btf.Type, fds *ModuleFDs) (Type, error) {
	// A caller's own base is never e's vmlinux unless e handed it out, so
	// there is no need to parse vmlinux just to compare with it.
	vmlinux, _ := e.vmlinux.peek()
	if base == nil {
		var err error
		if base, err = e.Vmlinux(); err != nil {
			return Type{}, err
		}
		vmlinux = base
	}

	typ, id, err := lookupType(base, name, kind)
	if err != nil {
		return Type{}, fmt.Errorf("%s %s: %w", kindName(kind), name, err)
	}
	if typ != nil {
		return Type{Type: typ, ID: id}, nil
	}

	if base == vmlinux {
		kt, err := e.modules.find(e.paths.BTFDir, vmlinux, name, kind)
		if err != nil {
			return Type{}, err
		}
		if kt.Type != nil {
			if fds == nil {
				return Type{}, fmt.Errorf("%s %s in module %s: no set to hold the module's BTF fd", kindName(kind), name, kt.Module)
			}
			if kt.BTFFD, err = fds.FD(kt.Module); err != nil {
				return Type{}, fmt.Errorf("%s %s in module %s: %w", kindName(kind), name, kt.Module, err)
			}
			return kt, nil
		}
	}
	return Type{}, fmt.Errorf("%s %s: %w", kindName(kind), name, ErrTypeNotFound)
}

// lookupType returns the lowest-id type of spec named name and of kind's
// kind, or a nil Type when there is none.
func lookupType(spec *btf.Spec, name string, kind btf.Type) (btf.Type, btf.TypeID, error) {
	candidates, err := spec.AnyTypesByName(name)
	if errors.Is(err, btf.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}

	want := reflect.TypeOf(kind)
	var found btf.Type
	var foundID btf.TypeID
	for _, typ := range candidates {
		if want != nil && reflect.TypeOf(typ) != want {
			continue
		}
		id, err := spec.TypeID(typ)
		if err != nil {
			return nil, 0, err
		}
		if found == nil || id < foundID {
			found, foundID = typ, id
		}
	}
	return found, foundID, nil
}

// kindName names kind the way BTF does: "func", "var", "struct"; "type"
// for an untyped nil.
func kindName(kind btf.Type) string {
	if kind == nil {
		return "type"
	}
	return strings.ToLower(strings.TrimPrefix(reflect.TypeOf(kind).String(), "*btf."))
}
