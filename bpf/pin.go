package bpf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/reloc"
	"github.com/rawload/rawload/syscall"
)

// ErrBadPinName is returned for a map whose name cannot be a pin name.
var ErrBadPinName = errors.New("not a pin name: one path element of [A-Za-z0-9_.-], not . or ..")

// checkPinName refuses a name from an object that would become more than
// one element of a path under Options.PinPath, or escape it.
func checkPinName(name string) error {
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("%q: %w", name, ErrBadPinName)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return fmt.Errorf("%q: %w", name, ErrBadPinName)
		}
	}
	return nil
}

// checkPinDir makes sure pins under dir land on a bpf filesystem: dir
// itself, or, while it does not exist yet, the closest directory above
// it, since rawload creates the rest.
func checkPinDir(dir string) error {
	for at := filepath.Clean(dir); ; at = filepath.Dir(at) {
		var st unix.Statfs_t
		err := unix.Statfs(at, &st)
		if errors.Is(err, unix.ENOENT) && at != filepath.Dir(at) {
			continue
		}
		if err != nil {
			return fmt.Errorf("pin path %s: %w", dir, err)
		}
		if st.Type != unix.BPF_FS_MAGIC {
			return fmt.Errorf("pin path %s: %s is not on a bpf filesystem (mount one with: mount -t bpf bpf /sys/fs/bpf)", dir, at)
		}
		return nil
	}
}

// pinMap pins fd at path, creating the directory (0700) when missing, and
// leaves the pin readable and writable by its owner only.
func pinMap(fd int, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("pin directory: %w", err)
	}
	if err := syscall.ObjPin(fd, path); err != nil {
		return fmt.Errorf("pinning at %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		os.Remove(path)
		return fmt.Errorf("pin %s: %w", path, err)
	}
	return nil
}

func removePin(path string) {
	if path != "" {
		os.Remove(path)
	}
}

// pinPath is where the map is pinned by name, "" when it is not. The name
// was checked at Open (checkPinName).
func (m *Map) pinPath() string {
	if m.spec.Pinning != reloc.PinByName || m.obj.opts.PinPath == "" {
		return ""
	}
	return filepath.Join(m.obj.opts.PinPath, m.spec.Name)
}

// Pin pins the live map at path on a bpffs. A pinned map is never
// destroyed by ReleaseUnusedMaps.
func (m *Map) Pin(path string) error {
	m.obj.mu.Lock()
	defer m.obj.mu.Unlock()
	if !m.live.Load() {
		return fmt.Errorf("map %s: %w", m.Name(), ErrMapNotLive)
	}
	if err := syscall.ObjPin(m.slot, path); err != nil {
		return fmt.Errorf("map %s: pin at %s: %w", m.Name(), path, err)
	}
	m.external = true
	return nil
}
