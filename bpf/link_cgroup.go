package bpf

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/syscall"
)

func init() {
	registerAttacher(attachCgroup,
		"cgroup_skb/ingress", "cgroup_skb/egress", "cgroup_skb", "cgroup/skb",
		"cgroup/sock_create", "cgroup/sock_release", "cgroup/sock",
		"cgroup/post_bind4", "cgroup/post_bind6", "cgroup/dev",
		"cgroup/bind4", "cgroup/bind6", "cgroup/connect4", "cgroup/connect6", "cgroup/connect_unix",
		"cgroup/sendmsg4", "cgroup/sendmsg6", "cgroup/sendmsg_unix",
		"cgroup/recvmsg4", "cgroup/recvmsg6", "cgroup/recvmsg_unix",
		"cgroup/getpeername4", "cgroup/getpeername6", "cgroup/getpeername_unix",
		"cgroup/getsockname4", "cgroup/getsockname6", "cgroup/getsockname_unix",
		"cgroup/sysctl", "cgroup/getsockopt", "cgroup/setsockopt",
		"sockops")
}

// attachCgroup attaches a cgroup program (and sockops) to a cgroup v2
// directory with a cgroup link (Linux 5.7), at the attach type the program
// was loaded for; a reload updates the link in place. Links run beside
// other programs of the cgroup, as BPF_F_ALLOW_MULTI attachments do, and
// the cgroup's descendants run them too.
func attachCgroup(p *Program, progFD int, opts *AttachOptions) (*Link, error) {
	dir := opts.Cgroup
	if dir == "" {
		return nil, targetMissing(p, needsCgroup)
	}
	// A cgroup_skb section without a direction was loaded for ingress,
	// attach type 0.
	attachType := p.spec.Kind.ExpectedAttachType
	name := uapi.AttachTypeName(attachType)
	open := func(progFD int) (attachment, error) {
		cg, err := openCgroup2(dir)
		if err != nil {
			return attachment{}, fmt.Errorf("attach %s: %w", name, err)
		}
		defer unix.Close(cg)
		attr := syscall.LinkCreateAttr{ProgFD: uint32(progFD), TargetFD: uint32(cg), AttachType: attachType}
		fd, err := syscall.LinkCreate(&attr)
		if err != nil {
			return attachment{}, fmt.Errorf("attach %s to cgroup %s: %w", name, dir, err)
		}
		return attachment{fd: fd, update: linkUpdater(fd)}, nil
	}
	return attachWith("cgroup", dir+" "+name, progFD, open)
}

// openCgroup2 opens a cgroup v2 directory. The kernel refuses a cgroup v1
// directory with a bare EBADF; this says what it is.
func openCgroup2(dir string) (int, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("cgroup %s: %w", dir, err)
	}
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("cgroup %s: %w", dir, err)
	}
	switch fs.Type {
	case unix.CGROUP2_SUPER_MAGIC:
		return fd, nil
	case unix.CGROUP_SUPER_MAGIC:
		unix.Close(fd)
		return -1, fmt.Errorf("%s is a cgroup v1 directory, not a cgroup v2 one (mount -t cgroup2 none DIR): %w", dir, unix.EBADF)
	}
	unix.Close(fd)
	return -1, fmt.Errorf("%s is not a cgroup v2 directory (filesystem magic %#x): %w", dir, fs.Type, unix.EBADF)
}
