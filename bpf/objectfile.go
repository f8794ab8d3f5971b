package bpf

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// MaxObjectSize bounds the object files Open and ReadSpec read. The
// largest real objects are a few MiB; the kernel loads at most a million
// instructions (8 MiB) per program.
const MaxObjectSize = 256 << 20

// ErrNotRegularFile is returned for a path that is not a regular file: a
// FIFO or a device such as /dev/zero would be read without end.
var ErrNotRegularFile = errors.New("not a regular file")

// readObjectFile reads an object file of at most MaxObjectSize bytes. It
// looks at what path is before opening it, so a FIFO or a device is
// never opened, and opens without blocking in case path changed between
// the two.
func readObjectFile(path string) ([]byte, error) {
	data, _, err := readObjectFileInto(path, nil)
	return data, err
}

// fileBuffers recycles the buffers Open reads object files smaller than
// sparseMin into: the Object keeps none of the bytes, and a process that
// loads an object again and again would otherwise take the file's size
// in fresh memory each time, a page fault per page (about 2 µs here)
// until its first garbage collection.
var fileBuffers sync.Pool // of *[]byte

// readObjectFileInto is readObjectFile reading into buf when the file is
// read whole and fits in it (with the byte more it reads to see growth).
// whole is the buffer a file read whole went into, at its full capacity,
// nil for a file read without its DWARF.
func readObjectFileInto(path string, buf []byte) (data, whole []byte, err error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nil, nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if err := checkObjectFile(path, &st); err != nil {
		return nil, nil, err
	}
	// Plain system calls, not an os.File: a regular file gains nothing
	// from the runtime's poller, whose set-up and refused registration
	// cost a fresh process and every Open a few system calls each.
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if err := checkObjectFile(path, &st); err != nil {
		return nil, nil, err
	}
	if st.Size >= sparseMin {
		data := make([]byte, st.Size)
		ok, err := readSparse(fd, data)
		if err != nil {
			return nil, nil, readError(path, err)
		}
		if ok {
			// A file that changed size while being read is refused, as
			// below; one rewritten in place at the same size cannot be
			// told from one read before the change.
			var after unix.Stat_t
			if err := unix.Fstat(fd, &after); err != nil {
				return nil, nil, &os.PathError{Op: "stat", Path: path, Err: err}
			}
			if after.Size != st.Size || after.Mtim != st.Mtim {
				return nil, nil, fmt.Errorf("%s: %w", path, errFileChanged)
			}
			return data, nil, nil
		}
	}
	// Read what fstat said into one buffer, with one byte more to see a
	// file that grew: one read(2) for most objects, not a growing buffer's
	// dozen.
	whole = buf[:cap(buf)]
	if int64(len(whole)) < st.Size+1 {
		whole = make([]byte, st.Size+1)
	}
	data = whole[:st.Size+1]
	n := 0
	for n < len(data) {
		m, err := unix.Read(fd, data[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, nil, readError(path, err)
		}
		if m == 0 {
			return data[:n:n], whole[:0], nil
		}
		n += m
	}
	return nil, nil, fmt.Errorf("%s: %w", path, errFileChanged)
}

// errFileChanged is a file that shrank, grew or was rewritten while
// being read.
var errFileChanged = errors.New("changed while being read")

func readError(path string, err error) error {
	if errors.Is(err, errFileChanged) {
		return fmt.Errorf("%s: %w", path, err)
	}
	return &os.PathError{Op: "read", Path: path, Err: err}
}

func checkObjectFile(path string, st *unix.Stat_t) error {
	if kind := st.Mode & unix.S_IFMT; kind != unix.S_IFREG {
		return fmt.Errorf("%s: %w (%s)", path, ErrNotRegularFile, fileKind(kind))
	}
	if st.Size > MaxObjectSize {
		return fmt.Errorf("%s: %d bytes, more than the %d an object file may have", path, st.Size, MaxObjectSize)
	}
	return nil
}

func fileKind(kind uint32) string {
	switch kind {
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFIFO:
		return "a FIFO"
	case unix.S_IFCHR:
		return "a character device"
	case unix.S_IFBLK:
		return "a block device"
	case unix.S_IFSOCK:
		return "a socket"
	}
	return fmt.Sprintf("file type %#o", kind)
}
