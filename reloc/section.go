package reloc

import (
	"fmt"
	"strings"
	"sync"

	"github.com/rawload/rawload/internal/uapi"
)

// sectionDef is one of libbpf's SEC() conventions: a section name, or a
// prefix of one when it ends in '/' or prefix is set, mapped to what the
// kernel needs at PROG_LOAD.
type sectionDef struct {
	name       string
	prefix     bool // name matches "name" and "name/..." (libbpf's SEC_ATTACHABLE style)
	progType   uint32
	attachType uint32
	flags      uint32
}

// ProgramKind is what a section name says about a program.
type ProgramKind struct {
	Type               uint32 // BPF_PROG_TYPE_*
	ExpectedAttachType uint32 // BPF_* attach type, passed at PROG_LOAD
	Flags              uint32 // BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS
	// AttachTo is the part of the section name after the convention's
	// prefix: the tracepoint, function or hook the program attaches to.
	AttachTo string
	// Convention is the matched convention, e.g. "raw_tp" or "cgroup/connect4".
	Convention string
	// NoAutoload is set by a section name starting with '?' (libbpf's
	// SEC("?kprobe/...")): the program is not loaded unless asked for.
	NoAutoload bool
}

// Ordered so that a longer convention is tried before a shorter one that
// is its prefix ("xdp.frags/devmap" before "xdp.frags" before "xdp").
var sectionDefs = []sectionDef{
	{"socket", true, uapi.ProgTypeSocketFilter, 0, 0},
	{"sk_reuseport/migrate", true, uapi.ProgTypeSKReuseport, uapi.AttachSKReuseportSelectOrMigrate, 0},
	{"sk_reuseport", true, uapi.ProgTypeSKReuseport, uapi.AttachSKReuseportSelect, 0},
	{"kprobe.multi", true, uapi.ProgTypeKprobe, uapi.AttachTraceKprobeMulti, 0},
	{"kretprobe.multi", true, uapi.ProgTypeKprobe, uapi.AttachTraceKprobeMulti, 0},
	{"kprobe.session", true, uapi.ProgTypeKprobe, uapi.AttachTraceKprobeSession, 0},
	{"uprobe.multi.s", true, uapi.ProgTypeKprobe, uapi.AttachTraceUprobeMulti, uapi.ProgFlagSleepable},
	{"uprobe.multi", true, uapi.ProgTypeKprobe, uapi.AttachTraceUprobeMulti, 0},
	{"uretprobe.multi.s", true, uapi.ProgTypeKprobe, uapi.AttachTraceUprobeMulti, uapi.ProgFlagSleepable},
	{"uretprobe.multi", true, uapi.ProgTypeKprobe, uapi.AttachTraceUprobeMulti, 0},
	{"uprobe.session.s", true, uapi.ProgTypeKprobe, uapi.AttachTraceUprobeSession, uapi.ProgFlagSleepable},
	{"uprobe.session", true, uapi.ProgTypeKprobe, uapi.AttachTraceUprobeSession, 0},
	{"kprobe", true, uapi.ProgTypeKprobe, 0, 0},
	{"kretprobe", true, uapi.ProgTypeKprobe, 0, 0},
	{"ksyscall", true, uapi.ProgTypeKprobe, 0, 0},
	{"kretsyscall", true, uapi.ProgTypeKprobe, 0, 0},
	{"uprobe.s", true, uapi.ProgTypeKprobe, 0, uapi.ProgFlagSleepable},
	{"uprobe", true, uapi.ProgTypeKprobe, 0, 0},
	{"uretprobe.s", true, uapi.ProgTypeKprobe, 0, uapi.ProgFlagSleepable},
	{"uretprobe", true, uapi.ProgTypeKprobe, 0, 0},
	{"usdt.s", true, uapi.ProgTypeKprobe, 0, uapi.ProgFlagSleepable},
	{"usdt", true, uapi.ProgTypeKprobe, 0, 0},
	{"tc/ingress", false, uapi.ProgTypeSchedCLS, uapi.AttachTCXIngress, 0},
	{"tc/egress", false, uapi.ProgTypeSchedCLS, uapi.AttachTCXEgress, 0},
	{"tcx/ingress", false, uapi.ProgTypeSchedCLS, uapi.AttachTCXIngress, 0},
	{"tcx/egress", false, uapi.ProgTypeSchedCLS, uapi.AttachTCXEgress, 0},
	{"tc", true, uapi.ProgTypeSchedCLS, 0, 0},
	{"classifier", true, uapi.ProgTypeSchedCLS, 0, 0},
	{"action", true, uapi.ProgTypeSchedACT, 0, 0},
	{"netkit/primary", false, uapi.ProgTypeSchedCLS, uapi.AttachNetkitPrimary, 0},
	{"netkit/peer", false, uapi.ProgTypeSchedCLS, uapi.AttachNetkitPeer, 0},
	{"tracepoint.s", true, uapi.ProgTypeTracepoint, 0, uapi.ProgFlagSleepable},
	{"tracepoint", true, uapi.ProgTypeTracepoint, 0, 0},
	{"tp.s", true, uapi.ProgTypeTracepoint, 0, uapi.ProgFlagSleepable},
	{"tp", true, uapi.ProgTypeTracepoint, 0, 0},
	{"raw_tracepoint.w", true, uapi.ProgTypeRawTracepointWritable, 0, 0},
	{"raw_tp.w", true, uapi.ProgTypeRawTracepointWritable, 0, 0},
	{"raw_tracepoint.s", true, uapi.ProgTypeRawTracepoint, 0, uapi.ProgFlagSleepable},
	{"raw_tracepoint", true, uapi.ProgTypeRawTracepoint, 0, 0},
	{"raw_tp.s", true, uapi.ProgTypeRawTracepoint, 0, uapi.ProgFlagSleepable},
	{"raw_tp", true, uapi.ProgTypeRawTracepoint, 0, 0},
	{"tp_btf.s", true, uapi.ProgTypeTracing, uapi.AttachTraceRawTP, uapi.ProgFlagSleepable},
	{"tp_btf", true, uapi.ProgTypeTracing, uapi.AttachTraceRawTP, 0},
	{"fentry.s", true, uapi.ProgTypeTracing, uapi.AttachTraceFentry, uapi.ProgFlagSleepable},
	{"fentry", true, uapi.ProgTypeTracing, uapi.AttachTraceFentry, 0},
	{"fmod_ret.s", true, uapi.ProgTypeTracing, uapi.AttachModifyReturn, uapi.ProgFlagSleepable},
	{"fmod_ret", true, uapi.ProgTypeTracing, uapi.AttachModifyReturn, 0},
	{"fexit.s", true, uapi.ProgTypeTracing, uapi.AttachTraceFexit, uapi.ProgFlagSleepable},
	{"fexit", true, uapi.ProgTypeTracing, uapi.AttachTraceFexit, 0},
	{"freplace", true, uapi.ProgTypeExt, 0, 0},
	{"lsm.s", true, uapi.ProgTypeLSM, uapi.AttachLSMMAC, uapi.ProgFlagSleepable},
	{"lsm_cgroup", true, uapi.ProgTypeLSM, uapi.AttachLSMCgroup, 0},
	{"lsm", true, uapi.ProgTypeLSM, uapi.AttachLSMMAC, 0},
	{"iter.s", true, uapi.ProgTypeTracing, uapi.AttachTraceIter, uapi.ProgFlagSleepable},
	{"iter", true, uapi.ProgTypeTracing, uapi.AttachTraceIter, 0},
	{"syscall", true, uapi.ProgTypeSyscall, 0, uapi.ProgFlagSleepable},
	{"xdp.frags/devmap", false, uapi.ProgTypeXDP, uapi.AttachXDPDevMap, uapi.ProgFlagXDPHasFrags},
	{"xdp/devmap", false, uapi.ProgTypeXDP, uapi.AttachXDPDevMap, 0},
	{"xdp.frags/cpumap", false, uapi.ProgTypeXDP, uapi.AttachXDPCPUMap, uapi.ProgFlagXDPHasFrags},
	{"xdp/cpumap", false, uapi.ProgTypeXDP, uapi.AttachXDPCPUMap, 0},
	{"xdp.frags", true, uapi.ProgTypeXDP, uapi.AttachXDP, uapi.ProgFlagXDPHasFrags},
	{"xdp", true, uapi.ProgTypeXDP, uapi.AttachXDP, 0},
	{"perf_event", true, uapi.ProgTypePerfEvent, 0, 0},
	{"lwt_in", true, uapi.ProgTypeLWTIn, 0, 0},
	{"lwt_out", true, uapi.ProgTypeLWTOut, 0, 0},
	{"lwt_xmit", true, uapi.ProgTypeLWTXmit, 0, 0},
	{"lwt_seg6local", true, uapi.ProgTypeLWTSeg6Local, 0, 0},
	{"sockops", true, uapi.ProgTypeSockOps, uapi.AttachCgroupSockOps, 0},
	{"sk_skb/stream_parser", false, uapi.ProgTypeSKSKB, uapi.AttachSKSKBStreamParser, 0},
	{"sk_skb/stream_verdict", false, uapi.ProgTypeSKSKB, uapi.AttachSKSKBStreamVerdict, 0},
	{"sk_skb/verdict", false, uapi.ProgTypeSKSKB, uapi.AttachSKSKBVerdict, 0},
	{"sk_skb", true, uapi.ProgTypeSKSKB, 0, 0},
	{"sk_msg", true, uapi.ProgTypeSKMsg, uapi.AttachSKMsgVerdict, 0},
	{"lirc_mode2", true, uapi.ProgTypeLircMode2, uapi.AttachLircMode2, 0},
	{"flow_dissector", true, uapi.ProgTypeFlowDissector, uapi.AttachFlowDissector, 0},
	{"cgroup_skb/ingress", false, uapi.ProgTypeCgroupSKB, uapi.AttachCgroupInetIngress, 0},
	{"cgroup_skb/egress", false, uapi.ProgTypeCgroupSKB, uapi.AttachCgroupInetEgress, 0},
	{"cgroup/skb", false, uapi.ProgTypeCgroupSKB, 0, 0},
	{"cgroup/sock_create", false, uapi.ProgTypeCgroupSock, uapi.AttachCgroupInetSockCreate, 0},
	{"cgroup/sock_release", false, uapi.ProgTypeCgroupSock, uapi.AttachCgroupInetSockRelease, 0},
	{"cgroup/sock", false, uapi.ProgTypeCgroupSock, uapi.AttachCgroupInetSockCreate, 0},
	{"cgroup/post_bind4", false, uapi.ProgTypeCgroupSock, uapi.AttachCgroupInet4PostBind, 0},
	{"cgroup/post_bind6", false, uapi.ProgTypeCgroupSock, uapi.AttachCgroupInet6PostBind, 0},
	{"cgroup/dev", false, uapi.ProgTypeCgroupDevice, uapi.AttachCgroupDevice, 0},
	{"cgroup/bind4", false, uapi.ProgTypeCgroupSockAddr, uapi.AttachCgroupInet4Bind, 0},
	{"cgroup/bind6", false, uapi.ProgTypeCgroupSockAddr, uapi.AttachCgroupInet6Bind, 0},
	{"cgroup/connect4", false, uapi.ProgTypeCgroupSockAddr, uapi.AttachCgroupInet4Connect, 0},
	{"cgroup/connect6", false, uapi.ProgTypeCgroupSockAddr, uapi.AttachCgroupInet6Connect, 0},
	{"cgroup/connect_unix", false, uapi.ProgTypeCgroupSockAddr, uapi.AttachCgroupUnixConnect, 0},
	{"cgroup/sendmsg4", false, uapi.ProgTypeCgroupSockAddr, uapi.AttachCgroupUDP4Sendmsg, 0},
	{"cgroup/sendmsg6", false, uapi.ProgTypeCgroupSockAddr, uapi.AttachCgroupUDP6Sendmsg, 0},
	{"cgroup/sendmsg_unix", false, uapi.ProgTypeCgroupSockAddr, uapi.AttachCgroupUnixSendmsg, 0},
	{"cgroup/recvmsg4", false, uapi.ProgTypeCgroupSockAddr, uapi.AttachCgroupUDP4Recvmsg, 0},
	{"cgroup/recvmsg6", false, uapi.ProgTypeCgroupSockAddr, uapi.AttachCgroupUDP6Recvmsg, 0},
	{"cgroup/recvmsg_unix", false, uapi.ProgTypeCgroupSockAddr, uapi.AttachCgroupUnixRecvmsg, 0},
	{"cgroup/getpeername4", false, uapi.ProgTypeCgroupSockAddr, uapi.AttachCgroupInet4Getpeername, 0},
	{"cgroup/getpeername6", false, uapi.ProgTypeCgroupSockAddr, uapi.AttachCgroupInet6Getpeername, 0},
	{"cgroup/getpeername_unix", false, uapi.ProgTypeCgroupSockAddr, uapi.AttachCgroupUnixGetpeername, 0},
	{"cgroup/getsockname4", false, uapi.ProgTypeCgroupSockAddr, uapi.AttachCgroupInet4Getsockname, 0},
	{"cgroup/getsockname6", false, uapi.ProgTypeCgroupSockAddr, uapi.AttachCgroupInet6Getsockname, 0},
	{"cgroup/getsockname_unix", false, uapi.ProgTypeCgroupSockAddr, uapi.AttachCgroupUnixGetsockname, 0},
	{"cgroup/sysctl", false, uapi.ProgTypeCgroupSysctl, uapi.AttachCgroupSysctl, 0},
	{"cgroup/getsockopt", false, uapi.ProgTypeCgroupSockopt, uapi.AttachCgroupGetsockopt, 0},
	{"cgroup/setsockopt", false, uapi.ProgTypeCgroupSockopt, uapi.AttachCgroupSetsockopt, 0},
	{"cgroup_skb", true, uapi.ProgTypeCgroupSKB, 0, 0},
	{"sk_lookup", true, uapi.ProgTypeSKLookup, uapi.AttachSKLookup, 0},
	{"struct_ops.s", true, uapi.ProgTypeStructOps, 0, uapi.ProgFlagSleepable},
	{"struct_ops", true, uapi.ProgTypeStructOps, 0, 0},
	{"netfilter", true, uapi.ProgTypeNetfilter, uapi.AttachNetfilter, 0},
}

// KindOf maps a section name to the program type libbpf's SEC()
// conventions give it; a leading '?' marks a program not loaded by
// default. A prefix convention matches the bare name and the
// name followed by '/'; an exact one matches only itself.
func KindOf(section string) (ProgramKind, error) {
	name, optional := strings.CutPrefix(section, "?")
	if name == "" {
		return ProgramKind{}, fmt.Errorf("section %q: %w", section, ErrUnknownSection)
	}
	for _, def := range sectionDefsByFirstByte()[name[0]] {
		attachTo, ok := matchSection(name, def)
		if !ok {
			continue
		}
		return ProgramKind{
			Type:               def.progType,
			ExpectedAttachType: def.attachType,
			Flags:              def.flags,
			AttachTo:           attachTo,
			Convention:         def.name,
			NoAutoload:         optional,
		}, nil
	}
	return ProgramKind{}, fmt.Errorf("section %q: %w", section, ErrUnknownSection)
}

// sectionDefsByFirstByte holds sectionDefs by the first byte of their
// names, in their order: a section name can only match those sharing its
// first byte, and a program's kind is looked up at every Open.
var sectionDefsByFirstByte = sync.OnceValue(func() *[256][]sectionDef {
	var index [256][]sectionDef
	for _, def := range sectionDefs {
		index[def.name[0]] = append(index[def.name[0]], def)
	}
	return &index
})

func matchSection(section string, def sectionDef) (string, bool) {
	if section == def.name {
		return "", true
	}
	if !def.prefix {
		return "", false
	}
	rest, ok := strings.CutPrefix(section, def.name)
	if !ok || !strings.HasPrefix(rest, "/") {
		return "", false
	}
	return rest[1:], true
}
