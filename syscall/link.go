package syscall

import (
	"runtime"
	"unsafe"

	"github.com/rawload/rawload/internal/uapi"
)

// rawTracepointAttr is the raw_tracepoint member of union bpf_attr.
type rawTracepointAttr struct {
	Name   uint64
	ProgFD uint32
	_      uint32
	Cookie uint64
}

// RawTracepointOpen attaches a program to a raw tracepoint and returns the
// link's fd. name is the tracepoint for raw_tp programs and "" for programs
// whose target was fixed at load time (tp_btf, fentry, fexit, fmod_ret, lsm,
// freplace).
func RawTracepointOpen(name string, progFD int) (int, error) {
	attr := rawTracepointAttr{ProgFD: uint32(progFD)}
	var p *byte
	if name != "" {
		var err error
		if p, attr.Name, err = cstring(name); err != nil {
			return -1, err
		}
	}
	fd, err := bpf(uapi.CmdRawTracepointOpen, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(p)
	return fd, err
}

// LinkCreateAttr is the link_create member of union bpf_attr. What follows
// Flags is a union whose meaning depends on AttachType; fill it through the
// accessor for that kind of link. Pointers inside it are the caller's to keep
// alive until LinkCreate returns.
type LinkCreateAttr struct {
	ProgFD     uint32 // or map_fd, for struct_ops links
	TargetFD   uint32 // or target_ifindex
	AttachType uint32
	Flags      uint32
	target     [6]uint64
}

// LinkTracing is link_create.tracing, for fentry, fexit, fmod_ret, lsm and
// freplace links. Its TargetBTFID is also the plain target_btf_id that LSM
// cgroup links use.
type LinkTracing struct {
	TargetBTFID uint32
	_           uint32
	Cookie      uint64
}

// LinkPerfEvent is link_create.perf_event, for links on a perf event fd
// (kprobe, uprobe, tracepoint, perf event programs).
type LinkPerfEvent struct {
	BPFCookie uint64
}

// LinkIter is the iterator part of link_create, for BPF_TRACE_ITER.
type LinkIter struct {
	IterInfo    uint64 // pointer to union bpf_iter_link_info
	IterInfoLen uint32
	_           uint32
}

// LinkKprobeMulti is link_create.kprobe_multi.
type LinkKprobeMulti struct {
	Flags   uint32 // KprobeMultiReturn
	Cnt     uint32
	Syms    uint64 // pointer to Cnt C strings, or 0
	Addrs   uint64 // pointer to Cnt addresses, or 0
	Cookies uint64 // pointer to Cnt cookies, or 0
}

// LinkUprobeMulti is link_create.uprobe_multi.
type LinkUprobeMulti struct {
	Path          uint64 // pointer to a C string
	Offsets       uint64 // pointer to Cnt offsets
	RefCtrOffsets uint64 // pointer to Cnt offsets, or 0
	Cookies       uint64 // pointer to Cnt cookies, or 0
	Cnt           uint32
	Flags         uint32 // UprobeMultiReturn
	PID           uint32
	_             uint32
}

// LinkNetfilter is link_create.netfilter.
type LinkNetfilter struct {
	PF       uint32
	Hooknum  uint32
	Priority int32
	Flags    uint32 // NetfilterIPDefrag
}

// LinkRelative is link_create.tcx, .netkit and .cgroup, which share their
// layout: the program or link to attach before or after, chosen by
// AttachFlagBefore or AttachFlagAfter in Flags (an fd, or an ID with
// AttachFlagID), and the revision the caller expects, 0 for any.
type LinkRelative struct {
	RelativeFD       uint32
	_                uint32
	ExpectedRevision uint64
}

// Tracing views the union of a as link_create.tracing.
func (a *LinkCreateAttr) Tracing() *LinkTracing {
	return (*LinkTracing)(unsafe.Pointer(&a.target))
}

// PerfEvent views the union of a as link_create.perf_event.
func (a *LinkCreateAttr) PerfEvent() *LinkPerfEvent {
	return (*LinkPerfEvent)(unsafe.Pointer(&a.target))
}

// Iter views the union of a as the iterator part of link_create.
func (a *LinkCreateAttr) Iter() *LinkIter {
	return (*LinkIter)(unsafe.Pointer(&a.target))
}

// KprobeMulti views the union of a as link_create.kprobe_multi.
func (a *LinkCreateAttr) KprobeMulti() *LinkKprobeMulti {
	return (*LinkKprobeMulti)(unsafe.Pointer(&a.target))
}

// UprobeMulti views the union of a as link_create.uprobe_multi.
func (a *LinkCreateAttr) UprobeMulti() *LinkUprobeMulti {
	return (*LinkUprobeMulti)(unsafe.Pointer(&a.target))
}

// Netfilter views the union of a as link_create.netfilter.
func (a *LinkCreateAttr) Netfilter() *LinkNetfilter {
	return (*LinkNetfilter)(unsafe.Pointer(&a.target))
}

// Relative views the union of a as link_create.tcx, .netkit or .cgroup.
func (a *LinkCreateAttr) Relative() *LinkRelative {
	return (*LinkRelative)(unsafe.Pointer(&a.target))
}

// LinkCreate creates a link and returns its fd.
func LinkCreate(attr *LinkCreateAttr) (int, error) {
	return bpf(uapi.CmdLinkCreate, unsafe.Pointer(attr), unsafe.Sizeof(*attr))
}

// linkUpdateAttr is the link_update member of union bpf_attr.
type linkUpdateAttr struct {
	LinkFD    uint32
	NewProgFD uint32 // or new_map_fd
	Flags     uint32
	OldProgFD uint32 // or old_map_fd
}

// LinkUpdate replaces the program of a link with newProgFD. With
// AttachFlagReplace in flags, only if the link still runs oldProgFD.
func LinkUpdate(linkFD, newProgFD, oldProgFD int, flags uint32) error {
	attr := linkUpdateAttr{
		LinkFD:    uint32(linkFD),
		NewProgFD: uint32(newProgFD),
		Flags:     flags,
		OldProgFD: uint32(oldProgFD),
	}
	_, err := bpf(uapi.CmdLinkUpdate, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	return err
}

// LinkDetach detaches a link from its hook while its fd stays open.
func LinkDetach(linkFD int) error {
	attr := linkUpdateAttr{LinkFD: uint32(linkFD)}
	_, err := bpf(uapi.CmdLinkDetach, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	return err
}

// progAttachAttr is the BPF_PROG_ATTACH and BPF_PROG_DETACH member of union
// bpf_attr.
type progAttachAttr struct {
	TargetFD         uint32 // or target_ifindex
	AttachBPFFD      uint32
	AttachType       uint32
	AttachFlags      uint32
	ReplaceBPFFD     uint32
	RelativeFD       uint32 // or relative_id
	ExpectedRevision uint64
}

// ProgAttach attaches a program to a cgroup, socket map, netns or other
// target the old way, without a link.
func ProgAttach(targetFD, progFD int, attachType, flags uint32) error {
	attr := progAttachAttr{
		TargetFD:    uint32(targetFD),
		AttachBPFFD: uint32(progFD),
		AttachType:  attachType,
		AttachFlags: flags,
	}
	_, err := bpf(uapi.CmdProgAttach, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	return err
}

// ProgDetach detaches what ProgAttach attached.
func ProgDetach(targetFD, progFD int, attachType uint32) error {
	attr := progAttachAttr{
		TargetFD:    uint32(targetFD),
		AttachBPFFD: uint32(progFD),
		AttachType:  attachType,
	}
	_, err := bpf(uapi.CmdProgDetach, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	return err
}

// progBindMapAttr is the prog_bind_map member of union bpf_attr.
type progBindMapAttr struct {
	ProgFD uint32
	MapFD  uint32
	Flags  uint32
}

// ProgBindMap makes a loaded program hold a reference on a map it does not
// use in its instructions, such as a map of metadata.
func ProgBindMap(progFD, mapFD int, flags uint32) error {
	attr := progBindMapAttr{ProgFD: uint32(progFD), MapFD: uint32(mapFD), Flags: flags}
	_, err := bpf(uapi.CmdProgBindMap, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	return err
}
