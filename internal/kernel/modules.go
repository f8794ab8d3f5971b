package kernel

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	gosyscall "syscall"
	"time"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/syscall"
)

// moduleSpecs finds types in the split BTF of loaded kernel modules.
//
// The directory is listed again at every search, because modules come and
// go while an agent runs and a search only happens when vmlinux lacks a
// type, which is rare. Each module's BTF is parsed when a search first
// reaches it and kept, a few kilobytes on top of the shared vmlinux types,
// together with the identity of the file it came from. sysfs makes a new
// file for a module loaded again, so a changed identity means a different
// module of the same name, and its BTF is parsed again; a module gone from
// the listing is forgotten.
type moduleSpecs struct {
	mu    sync.Mutex
	specs map[string]moduleSpec
}

type moduleSpec struct {
	spec *btf.Spec
	base *btf.Spec // the vmlinux spec was split on
	id   fileID
}

// fileID tells one file from another that took its name.
type fileID struct {
	dev, ino uint64
	size     int64
	mtime    time.Time
}

func identify(info fs.FileInfo) fileID {
	id := fileID{size: info.Size(), mtime: info.ModTime()}
	if st, ok := info.Sys().(*gosyscall.Stat_t); ok {
		id.dev, id.ino = uint64(st.Dev), st.Ino
	}
	return id
}

// find searches every module's BTF in dir, in name order, split on
// vmlinux. The Type it returns names the module but has no fd; a nil Type
// when no module has it.
func (m *moduleSpecs) find(dir string, vmlinux *btf.Spec, name string, kind btf.Type) (Type, error) {
	m.mu.Lock()
	defer m.mu.Unlock()

	modules, err := listModules(dir)
	if err != nil {
		return Type{}, err
	}
	m.forgetOthersLocked(modules)
	for _, module := range modules {
		spec, err := m.specLocked(dir, vmlinux, module)
		if errors.Is(err, fs.ErrNotExist) {
			continue // unloaded since the listing
		}
		if err != nil {
			return Type{}, err
		}
		typ, id, err := lookupType(spec, name, kind)
		if err != nil {
			return Type{}, fmt.Errorf("%s %s in module %s: %w", kindName(kind), name, module, err)
		}
		if typ != nil {
			return Type{Type: typ, ID: id, Module: module}, nil
		}
	}
	return Type{}, nil
}

// listModules names the modules that have BTF in dir; none when there is
// no such directory, which is a kernel without module BTF.
func listModules(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
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

// forgetOthersLocked drops the specs of modules no longer listed, so that
// modules loaded and unloaded over a long life do not pile up.
func (m *moduleSpecs) forgetOthersLocked(modules []string) {
	listed := make(map[string]bool, len(modules))
	for _, module := range modules {
		listed[module] = true
	}
	for module := range m.specs {
		if !listed[module] {
			delete(m.specs, module)
		}
	}
}

func (m *moduleSpecs) specLocked(dir string, vmlinux *btf.Spec, module string) (*btf.Spec, error) {
	path := filepath.Join(dir, module)
	cached, ok := m.specs[module]
	if ok && cached.base == vmlinux {
		info, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("BTF of module %s: %w", module, err)
		}
		if identify(info) == cached.id {
			return cached.spec, nil
		}
	}

	// The identity comes from the open file, not the name, so that a
	// module replaced between stat and read is seen at the next search.
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("BTF of module %s: %w", module, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("BTF of module %s: %w", module, err)
	}
	spec, err := btf.LoadSplitSpecFromReader(f, vmlinux)
	if err != nil {
		return nil, fmt.Errorf("loading BTF of module %s: %w", module, err)
	}
	if m.specs == nil {
		m.specs = make(map[string]moduleSpec)
	}
	m.specs[module] = moduleSpec{spec: spec, base: vmlinux, id: identify(info)}
	return spec, nil
}

// ErrClosed is returned by a ModuleFDs used after Close.
var ErrClosed = errors.New("module BTF fds closed")

// ModuleFDs holds fds of kernel module BTF objects, one per module, each
// opened the first time it is asked for. It belongs to one user, a
// bpf.Object, and lives exactly as long, so that the fds its programs load
// with are its own: no other user can close them under it, and Close
// leaves nothing behind. A module unloaded while its fd is held keeps its
// BTF object alive until then; the ids resolved against it stay
// consistent with the fd passed along with them.
type ModuleFDs struct {
	// open returns an fd of a module's kernel BTF object; tests replace it.
	open func(module string) (int, error)

	mu     sync.Mutex
	fds    map[string]int
	closed bool
}

// NewModuleFDs returns an empty set.
func NewModuleFDs() *ModuleFDs {
	return &ModuleFDs{open: openModuleBTF}
}

// FD returns the fd of module's kernel BTF object, opening it on first
// need. The fd stays valid until Close.
func (s *ModuleFDs) FD(module string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, fmt.Errorf("BTF of module %s: %w", module, ErrClosed)
	}
	if fd, ok := s.fds[module]; ok {
		return fd, nil
	}
	open := s.open
	if open == nil {
		open = openModuleBTF
	}
	fd, err := open(module)
	if err != nil {
		return 0, err
	}
	if s.fds == nil {
		s.fds = make(map[string]int)
	}
	s.fds[module] = fd
	return fd, nil
}

// Len is the number of fds s holds.
func (s *ModuleFDs) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.fds)
}

// Close closes every fd of s; later calls of FD fail. It may be called
// more than once.
func (s *ModuleFDs) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	var errs []error
	for module, fd := range s.fds {
		if err := unix.Close(fd); err != nil {
			errs = append(errs, fmt.Errorf("closing BTF of module %s: %w", module, err))
		}
	}
	s.fds = nil
	return errors.Join(errs...)
}

// openModuleBTF opens the kernel BTF object of module by walking every
// BTF object's id; the kernel offers no lookup by name.
func openModuleBTF(module string) (int, error) {
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
