package syscall

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
)

// iterCreateAttr is the iter_create member of union bpf_attr.
type iterCreateAttr struct {
	LinkFD uint32
	Flags  uint32
}

// IterCreate opens a new reading of an iterator link: each read of the
// returned fd runs the program over the next objects; a read of 0 bytes is
// the end.
func IterCreate(linkFD int) (int, error) {
	attr := iterCreateAttr{LinkFD: uint32(linkFD)}
	return bpf(uapi.CmdIterCreate, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
}

// IterLinkInfo is union bpf_iter_link_info: what an iterator walks when
// its target takes a parameter. Build it with IterMapInfo, IterTaskInfo or
// IterCgroupInfo.
type IterLinkInfo struct {
	A uint32 // map.map_fd, cgroup.order, task.tid
	B uint32 // cgroup.cgroup_fd, task.pid
	C uint64 // cgroup.cgroup_id, or task.pid_fd in its low half
}

// IterMapInfo makes an iterator walk the elements of one map
// (bpf_map_elem, bpf_sk_storage_map, sockmap).
func IterMapInfo(mapFD int) IterLinkInfo { return IterLinkInfo{A: uint32(mapFD)} }

// IterTaskInfo makes a task iterator (task, task_file, task_vma) walk one
// thread (tid), or the threads of one process (pid), instead of every task.
func IterTaskInfo(tid, pid int) IterLinkInfo {
	return IterLinkInfo{A: uint32(tid), B: uint32(pid)}
}

// IterCgroupInfo makes a cgroup iterator walk from the cgroup of cgroupFD
// in order (BPF_CGROUP_ITER_*; 0 is the cgroup alone).
func IterCgroupInfo(order uint32, cgroupFD int) IterLinkInfo {
	return IterLinkInfo{A: order, B: uint32(cgroupFD)}
}

// LinkCreateIter creates an iterator link (BPF_TRACE_ITER); info is nil
// for targets that take no parameter.
func LinkCreateIter(progFD int, info *IterLinkInfo) (int, error) {
	attr := LinkCreateAttr{ProgFD: uint32(progFD), AttachType: uapi.AttachTraceIter}
	if info != nil {
		it := attr.Iter()
		it.IterInfo = addr(uintptr(unsafe.Pointer(info)))
		it.IterInfoLen = uint32(unsafe.Sizeof(*info))
	}
	fd, err := LinkCreate(&attr)
	runtime.KeepAlive(info)
	return fd, err
}

// KprobeMultiOptions are the functions of a kprobe_multi link: Symbols by
// name (or Addrs), each with its cookie or none.
type KprobeMultiOptions struct {
	AttachType uint32 // BPF_TRACE_KPROBE_MULTI or BPF_TRACE_KPROBE_SESSION
	Flags      uint32 // KprobeMultiReturn
	Symbols    []string
	Addrs      []uint64
	Cookies    []uint64 // none, or one per function
}

// LinkCreateKprobeMulti attaches a program to many kernel functions at once.
func LinkCreateKprobeMulti(progFD int, o *KprobeMultiOptions) (int, error) {
	attr := LinkCreateAttr{ProgFD: uint32(progFD), AttachType: o.AttachType}
	km := attr.KprobeMulti()
	km.Flags = o.Flags
	var names []*byte
	var ptrs []uint64
	switch {
	case len(o.Symbols) > 0:
		names = make([]*byte, len(o.Symbols))
		ptrs = make([]uint64, len(o.Symbols))
		for i, s := range o.Symbols {
			p, a, err := cstring(s)
			if err != nil {
				return -1, err
			}
			names[i], ptrs[i] = p, a
		}
		km.Cnt = uint32(len(ptrs))
		km.Syms = sliceAddr(ptrs)
	default:
		km.Cnt = uint32(len(o.Addrs))
		km.Addrs = sliceAddr(o.Addrs)
	}
	if len(o.Cookies) > 0 {
		if len(o.Cookies) != int(km.Cnt) {
			return -1, fmt.Errorf("%d cookies for %d functions: %w", len(o.Cookies), km.Cnt, unix.EINVAL)
		}
		km.Cookies = sliceAddr(o.Cookies)
	}
	fd, err := LinkCreate(&attr)
	runtime.KeepAlive(names)
	runtime.KeepAlive(ptrs)
	runtime.KeepAlive(o)
	return fd, err
}

// UprobeMultiOptions are the probes of an uprobe_multi link: offsets in
// the file at Path, each with its reference counter offset (a USDT
// semaphore) and its cookie, or none.
type UprobeMultiOptions struct {
	AttachType    uint32 // BPF_TRACE_UPROBE_MULTI or BPF_TRACE_UPROBE_SESSION
	Flags         uint32 // UprobeMultiReturn
	Path          string
	Offsets       []uint64
	RefCtrOffsets []uint64 // none, or one per offset
	Cookies       []uint64 // none, or one per offset
	PID           int      // 0 for every process
}

// LinkCreateUprobeMulti attaches a program to many places of one file at
// once.
func LinkCreateUprobeMulti(progFD int, o *UprobeMultiOptions) (int, error) {
	if (len(o.RefCtrOffsets) > 0 && len(o.RefCtrOffsets) != len(o.Offsets)) ||
		(len(o.Cookies) > 0 && len(o.Cookies) != len(o.Offsets)) {
		return -1, fmt.Errorf("%d offsets with %d ref_ctr offsets and %d cookies: %w",
			len(o.Offsets), len(o.RefCtrOffsets), len(o.Cookies), unix.EINVAL)
	}
	p, path, err := cstring(o.Path)
	if err != nil {
		return -1, err
	}
	attr := LinkCreateAttr{ProgFD: uint32(progFD), AttachType: o.AttachType}
	um := attr.UprobeMulti()
	um.Path = path
	um.Offsets = sliceAddr(o.Offsets)
	um.RefCtrOffsets = sliceAddr(o.RefCtrOffsets)
	um.Cookies = sliceAddr(o.Cookies)
	um.Cnt = uint32(len(o.Offsets))
	um.Flags = o.Flags
	um.PID = uint32(o.PID)
	fd, err := LinkCreate(&attr)
	runtime.KeepAlive(p)
	runtime.KeepAlive(o)
	return fd, err
}
