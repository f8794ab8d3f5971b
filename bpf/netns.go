package bpf

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// Network namespaces. An interface index means something only inside one
// network namespace, and the kernel reads it, like a netfilter hook, in
// the namespace of the thread that makes the link: a Go program does not
// choose its thread, so attaching there must. AttachOptions.Netns names
// the namespace; empty means the process's own (/proc/self/ns/net, that of
// its first thread), whichever thread the caller, or a later reload, runs
// on.

// ownNetns is the namespace an empty AttachOptions.Netns stands for.
const ownNetns = "/proc/self/ns/net"

// openNetns opens the network namespace file at path ("" for the
// process's own) and checks that it is one.
func openNetns(path string) (int, error) {
	if path == "" {
		path = ownNetns
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("network namespace %s: %w", path, err)
	}
	typ, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
	if err != nil || typ != unix.CLONE_NEWNET {
		unix.Close(fd)
		if err == nil {
			err = unix.EINVAL
		}
		return -1, fmt.Errorf("%s is not a network namespace: %w", path, err)
	}
	return fd, nil
}

// netnsName names a namespace for a Link's target.
func netnsName(path string) string {
	if path == "" {
		return "own netns"
	}
	return "netns " + path
}

// withNetns runs fn on a thread in the network namespace at path ("" for
// the process's own). A thread that had to enter the namespace is never
// handed back to other goroutines: it stays locked and ends with the
// goroutine that ran fn.
func withNetns(path string, fn func() error) error {
	target, err := openNetns(path)
	if err != nil {
		return err
	}
	defer unix.Close(target)
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		same, err := threadInNetns(target)
		if err != nil || same {
			if err == nil {
				err = fn()
			}
			runtime.UnlockOSThread()
			done <- err
			return
		}
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread() // setns changed nothing
			done <- fmt.Errorf("entering %s: %w", netnsName(path), err)
			return
		}
		done <- fn()
	}()
	return <-done
}

// threadInNetns reports whether the calling thread is in the network
// namespace nsFD refers to.
func threadInNetns(nsFD int) (bool, error) {
	var want, have unix.Stat_t
	if err := unix.Fstat(nsFD, &want); err != nil {
		return false, fmt.Errorf("network namespace: %w", err)
	}
	if err := unix.Stat("/proc/thread-self/ns/net", &have); err != nil {
		return false, fmt.Errorf("this thread's network namespace: %w", err)
	}
	return want.Dev == have.Dev && want.Ino == have.Ino, nil
}
