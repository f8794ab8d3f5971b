package syscall

import (
	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
)

// makesFD reports whether a bpf(2) command returns a new fd.
func makesFD(cmd int) bool {
	switch cmd {
	case uapi.CmdMapCreate, uapi.CmdProgLoad, uapi.CmdObjGet, uapi.CmdProgGetFDByID, uapi.CmdMapGetFDByID,
		uapi.CmdRawTracepointOpen, uapi.CmdBTFLoad, uapi.CmdBTFGetFDByID, uapi.CmdLinkCreate,
		uapi.CmdLinkGetFDByID, uapi.CmdEnableStats, uapi.CmdIterCreate, uapi.CmdTokenCreate:
		return true
	}
	return false
}

// goodFD moves an fd the kernel returned out of 0, 1 and 2. A daemon that
// closed stdin gets fd 0 from its next bpf(2), and the kernel reads fd 0
// as "none" in several fields (btf_fd, attach_btf_obj_fd, an fd_array's
// first slot), so a map, BTF or module fd numbered 0 would silently stand
// for vmlinux or for no BTF. libbpf does the same.
func goodFD(fd int) (int, error) {
	if fd > 2 {
		return fd, nil
	}
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
	unix.Close(fd)
	if err != nil {
		return -1, err
	}
	return dup, nil
}
