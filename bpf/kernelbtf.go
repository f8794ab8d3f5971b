package bpf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/syscall"
)

// errKernelTypeNotFound is returned when a type an object needs from the
// kernel, a CO-RE target, an attach target or a ksym, is in neither
// vmlinux nor any module's BTF.
var errKernelTypeNotFound = errors.New("not found in kernel BTF")

// kernelBTFDir holds vmlinux and one split BTF file per loaded module.
const kernelBTFDir = "/sys/kernel/btf"

// The running kernel's BTF, parsed once per process and shared by every
// Object: parsing costs ~11 ms and maps 5.5 MB, which a loader that parses
// per object or per program pays again and again. btf.Spec is safe for
// concurrent use; nobody may modify the types it returns.
var kernelSpecOnce = sync.OnceValues(loadKernelSpec)

// kernelSpec returns the running kernel's vmlinux BTF. A failure is cached
// like a success: a kernel without BTF does not grow it later.
func kernelSpec() (*btf.Spec, error) {
	return kernelSpecOnce()
}

// loadKernelSpec parses vmlinux BTF afresh. btf.LoadKernelSpec only reads
// files (it maps /sys/kernel/btf/vmlinux, or finds a vmlinux image on
// disk); it makes no bpf(2) call.
func loadKernelSpec() (*btf.Spec, error) {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return nil, fmt.Errorf("loading kernel BTF: %w", err)
	}
	return spec, nil
}

// kernelType is a named type found in the kernel's BTF.
type kernelType struct {
	Type btf.Type
	// ID is the type's id within its BTF object. Module BTF is split BTF
	// whose ids continue after vmlinux's, and the kernel numbers them the
	// same way, so this is the id PROG_LOAD and the verifier expect.
	ID     btf.TypeID
	Module string // "" for vmlinux
	// BTFFD is 0 for vmlinux. For a module it is an fd of the module's
	// kernel BTF object, which PROG_LOAD needs as attach_btf_obj_fd and in
	// fd_array whenever an id refers to module BTF. It belongs to the
	// process, not to the caller: it is opened once and never closed, so
	// that every load of every Object, at any time, can pass it without
	// owning or racing over it. One fd per module with BTF that a program
	// actually needs, at most.
	BTFFD int
}

// findKernelType finds the type called name whose kind is that of kind, a
// typed nil such as (*btf.Func)(nil); an untyped nil kind matches any kind.
// It looks in base first, which is the kernel's vmlinux BTF or a caller's
// replacement for it (nil means the kernel's). Module BTF is searched
// after the kernel's own vmlinux only: module BTF is split on the running
// vmlinux and means nothing on top of another base.
//
// When several types match, the one with the lowest id wins, as in
// libbpf's btf__find_by_name_kind.
func findKernelType(base *btf.Spec, name string, kind btf.Type) (kernelType, error) {
	vmlinux, vmlinuxErr := kernelSpec()
	if base == nil {
		if vmlinuxErr != nil {
			return kernelType{}, vmlinuxErr
		}
		base = vmlinux
	}

	typ, id, err := lookupType(base, name, kind)
	if err != nil {
		return kernelType{}, fmt.Errorf("%s %s: %w", kindName(kind), name, err)
	}
	if typ != nil {
		return kernelType{Type: typ, ID: id}, nil
	}

	if vmlinuxErr == nil && base == vmlinux {
		kt, err := kernelModules.find(base, name, kind)
		if err != nil || kt.Type != nil {
			return kt, err
		}
	}
	return kernelType{}, fmt.Errorf("%s %s: %w", kindName(kind), name, errKernelTypeNotFound)
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

// kindName names kind the way BTF does: "func", "var", "struct".
func kindName(kind btf.Type) string {
	if kind == nil {
		return "type"
	}
	return strings.ToLower(strings.TrimPrefix(reflect.TypeOf(kind).String(), "*btf."))
}

// kernelModules is the module half of the kernel's BTF, for this process.
var kernelModules = &moduleBTF{dir: kernelBTFDir, openFD: kernelModuleBTFFD}

// moduleBTF finds types in the split BTF of loaded kernel modules.
//
// The directory is listed again at every search, because modules come and
// go while an agent runs and a search only happens when vmlinux lacks a
// type, which is rare. Each module's BTF is parsed once, when a search
// first reaches it, and kept: it is a few kilobytes on top of the shared
// vmlinux types. A module unloaded and loaded again keeps its old parse
// and fd; its BTF ids are the same unless vmlinux changed, which takes a
// reboot.
type moduleBTF struct {
	dir string
	// openFD returns an fd of a module's kernel BTF object.
	openFD func(module string) (int, error)

	mu    sync.Mutex
	specs map[string]*btf.Spec
	fds   map[string]int
}

// find searches every module's BTF, in name order, split on vmlinux; a nil
// Type when none has it.
func (m *moduleBTF) find(vmlinux *btf.Spec, name string, kind btf.Type) (kernelType, error) {
	m.mu.Lock()
	defer m.mu.Unlock()

	modules, err := m.listLocked()
	if err != nil {
		return kernelType{}, err
	}
	for _, module := range modules {
		spec, err := m.specLocked(vmlinux, module)
		if err != nil {
			return kernelType{}, err
		}
		typ, id, err := lookupType(spec, name, kind)
		if err != nil {
			return kernelType{}, fmt.Errorf("%s %s in module %s: %w", kindName(kind), name, module, err)
		}
		if typ == nil {
			continue
		}
		fd, err := m.fdLocked(module)
		if err != nil {
			return kernelType{}, fmt.Errorf("%s %s in module %s: %w", kindName(kind), name, module, err)
		}
		return kernelType{Type: typ, ID: id, Module: module, BTFFD: fd}, nil
	}
	return kernelType{}, nil
}

// listLocked names the modules that have BTF; none when the kernel has no
// module BTF at all.
func (m *moduleBTF) listLocked() ([]string, error) {
	entries, err := os.ReadDir(m.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing module BTF: %w", err)
	}
	var modules []string
	for _, e := range entries {
		if e.Name() != "vmlinux" {
			modules = append(modules, e.Name())
		}
	}
	return modules, nil
}

func (m *moduleBTF) specLocked(vmlinux *btf.Spec, module string) (*btf.Spec, error) {
	if spec, ok := m.specs[module]; ok {
		return spec, nil
	}
	spec, err := btf.LoadSplitSpec(filepath.Join(m.dir, module), vmlinux)
	if err != nil {
		return nil, fmt.Errorf("loading BTF of module %s: %w", module, err)
	}
	if m.specs == nil {
		m.specs = make(map[string]*btf.Spec)
	}
	m.specs[module] = spec
	return spec, nil
}

func (m *moduleBTF) fdLocked(module string) (int, error) {
	if fd, ok := m.fds[module]; ok {
		return fd, nil
	}
	fd, err := m.openFD(module)
	if err != nil {
		return 0, err
	}
	if m.fds == nil {
		m.fds = make(map[string]int)
	}
	m.fds[module] = fd
	return fd, nil
}

// kernelModuleBTFFD opens the kernel BTF object of module by walking every
// BTF object's id; the kernel offers no lookup by name.
func kernelModuleBTFFD(module string) (int, error) {
	var id uint32
	for {
		next, err := syscall.BTFGetNextID(id)
		if errors.Is(err, unix.ENOENT) {
			return 0, fmt.Errorf("no kernel BTF object for module %s", module)
		}
		if err != nil {
			return 0, fmt.Errorf("finding BTF of module %s: BTF_GET_NEXT_ID: %w", module, err)
		}
		id = next

		fd, err := syscall.BTFGetFDByID(id)
		if errors.Is(err, unix.ENOENT) {
			continue // freed since BTF_GET_NEXT_ID saw it
		}
		if err != nil {
			return 0, fmt.Errorf("finding BTF of module %s: BTF_GET_FD_BY_ID %d: %w", module, id, err)
		}
		info, err := syscall.BTFInfoByFD(fd)
		if err == nil && info.KernelBTF && info.Name == module {
			return fd, nil
		}
		unix.Close(fd)
		if err != nil {
			return 0, fmt.Errorf("finding BTF of module %s: BTF %d info: %w", module, id, err)
		}
	}
}
