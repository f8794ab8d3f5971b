package bpf

import (
	"errors"
	"fmt"
	"io"
	"os"

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
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := checkObjectFile(path, st); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err = f.Stat()
	if err != nil {
		return nil, err
	}
	if err := checkObjectFile(path, st); err != nil {
		return nil, err
	}
	// Read what Stat said into one buffer, with one byte more to see a
	// file that grew: one read(2) for most objects, not a growing buffer's
	// dozen.
	data := make([]byte, st.Size()+1)
	n, err := io.ReadFull(f, data)
	switch {
	case err == nil:
		return nil, fmt.Errorf("%s: changed while being read", path)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return data[:n:n], nil
	}
	return nil, err
}

func checkObjectFile(path string, st os.FileInfo) error {
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s: %w (%s)", path, ErrNotRegularFile, st.Mode().Type())
	}
	if st.Size() > MaxObjectSize {
		return fmt.Errorf("%s: %d bytes, more than the %d an object file may have", path, st.Size(), MaxObjectSize)
	}
	return nil
}
