// Package control is the unix socket plumbing of `rawload serve` and
// `rawload ctl`: a listening stream socket created 0600, connections
// that know their peer's credentials (SO_PEERCRED), and deadlines
// through the runtime's poller. It needs no package net, which would
// make a static loader binary much larger, and calls bind, connect and
// accept4 itself with the one address family it uses, so that none of
// x/sys/unix's other socket address types are linked in.
package control

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrInUse is returned by Listen for a socket path a server answers on.
var ErrInUse = errors.New("a server is listening on this socket")

// Listener is a listening unix stream socket.
type Listener struct {
	f    *os.File
	path string
	ino  uint64 // of the socket file, so Close removes only its own
	// closed makes Accept report os.ErrClosed, not the poller's error.
	closed atomic.Bool
}

// Conn is a connection, with its peer's credentials as the kernel
// recorded them when it connected. Read and Write honour the deadlines.
type Conn struct {
	f        *os.File
	UID, GID uint32
	PID      int32
}

func (c *Conn) Read(b []byte) (int, error)         { return c.f.Read(b) }
func (c *Conn) Write(b []byte) (int, error)        { return c.f.Write(b) }
func (c *Conn) Close() error                       { return c.f.Close() }
func (c *Conn) SetDeadline(t time.Time) error      { return c.f.SetDeadline(t) }
func (c *Conn) SetReadDeadline(t time.Time) error  { return c.f.SetReadDeadline(t) }
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.f.SetWriteDeadline(t) }

// sockaddr is path as a struct sockaddr_un.
func sockaddr(path string) (*unix.RawSockaddrUnix, uintptr, error) {
	sa := &unix.RawSockaddrUnix{Family: unix.AF_UNIX}
	if len(path) == 0 || len(path) >= len(sa.Path) {
		return nil, 0, fmt.Errorf("control socket %q: the path must have 1 to %d bytes", path, len(sa.Path)-1)
	}
	for i := range len(path) {
		sa.Path[i] = int8(path[i])
	}
	return sa, unsafe.Offsetof(sa.Path) + uintptr(len(path)) + 1, nil
}

// socketCall is bind(2) or connect(2) of fd to path.
func socketCall(call uintptr, fd int, path string) error {
	sa, size, err := sockaddr(path)
	if err != nil {
		return err
	}
	for {
		_, _, errno := unix.Syscall(call, uintptr(fd), uintptr(unsafe.Pointer(sa)), size)
		// A unix socket's connect interrupted while the backlog was full
		// has not connected: try again.
		if errno != unix.EINTR {
			if errno != 0 {
				return errno
			}
			return nil
		}
	}
}

// Listen creates the socket at path, mode 0600, and listens on it. A
// stale socket file nobody answers on is replaced; any other file there
// is refused.
func Listen(path string) (*Listener, error) {
	if err := removeStale(path); err != nil {
		return nil, err
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if err := socketCall(unix.SYS_BIND, fd, path); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("control socket %s: bind: %w", path, err)
	}
	// Nobody can connect before listen: the mode is set first.
	var st unix.Stat_t
	err = os.Chmod(path, 0o600)
	if err == nil {
		err = unix.Stat(path, &st)
	}
	if err == nil {
		err = unix.Listen(fd, 128)
	}
	if err != nil {
		unix.Close(fd)
		os.Remove(path)
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return &Listener{f: os.NewFile(uintptr(fd), path), path: path, ino: st.Ino}, nil
}

// removeStale removes a socket file at path that nobody listens on.
func removeStale(path string) error {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); errors.Is(err, unix.ENOENT) {
		return nil
	} else if err != nil {
		return fmt.Errorf("control socket %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return fmt.Errorf("control socket %s: a file that is not a socket is there", path)
	}
	c, err := Dial(path)
	if err == nil {
		c.Close()
		return fmt.Errorf("control socket %s: %w", path, ErrInUse)
	}
	if !errors.Is(err, unix.ECONNREFUSED) {
		return err
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("control socket %s: removing the stale socket: %w", path, err)
	}
	return nil
}

// Accept waits for a connection. Once the Listener is closed it returns
// an error wrapping os.ErrClosed.
func (l *Listener) Accept() (*Conn, error) {
	rc, err := l.f.SyscallConn()
	if err != nil {
		return nil, err
	}
	nfd := -1
	var errno unix.Errno
	err = rc.Read(func(fd uintptr) bool {
		r, _, e := unix.Syscall6(unix.SYS_ACCEPT4, fd, 0, 0, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
		nfd, errno = int(r), e
		// Wait for the next connection after one that was given up on.
		return e != unix.EAGAIN && e != unix.EINTR && e != unix.ECONNABORTED
	})
	if err == nil && errno != 0 {
		err = errno
	}
	if err != nil && l.closed.Load() {
		err = os.ErrClosed
	}
	if err != nil {
		return nil, fmt.Errorf("control socket %s: accept: %w", l.path, err)
	}
	return newConn(nfd, l.path)
}

// newConn wraps a connected non-blocking socket.
func newConn(fd int, name string) (*Conn, error) {
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("control socket %s: peer credentials: %w", name, err)
	}
	return &Conn{f: os.NewFile(uintptr(fd), name), UID: cred.Uid, GID: cred.Gid, PID: cred.Pid}, nil
}

// Close stops listening and removes the socket file, unless another
// has replaced it.
func (l *Listener) Close() error {
	l.closed.Store(true)
	var st unix.Stat_t
	if unix.Lstat(l.path, &st) == nil && st.Ino == l.ino {
		os.Remove(l.path)
	}
	return l.f.Close()
}

// Dial connects to the socket at path.
func Dial(path string) (*Conn, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if err := socketCall(unix.SYS_CONNECT, fd, path); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("control socket %s: connect: %w", path, err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return newConn(fd, path)
}
