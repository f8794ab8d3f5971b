package reloc

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Attach types newer than the x/sys/unix release this module uses.
const (
	attachCgroupUnixConnect     = 49
	attachCgroupUnixSendmsg     = 50
	attachCgroupUnixRecvmsg     = 51
	attachCgroupUnixGetpeername = 52
	attachCgroupUnixGetsockname = 53
	attachNetkitPrimary         = 54
	attachNetkitPeer            = 55
	attachTraceKprobeSession    = 56
	attachTraceUprobeSession    = 57
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
}

// Ordered so that a longer convention is tried before a shorter one that
// is its prefix ("xdp.frags/devmap" before "xdp.frags" before "xdp").
var sectionDefs = []sectionDef{
	{"socket", true, unix.BPF_PROG_TYPE_SOCKET_FILTER, 0, 0},
	{"sk_reuseport/migrate", true, unix.BPF_PROG_TYPE_SK_REUSEPORT, unix.BPF_SK_REUSEPORT_SELECT_OR_MIGRATE, 0},
	{"sk_reuseport", true, unix.BPF_PROG_TYPE_SK_REUSEPORT, unix.BPF_SK_REUSEPORT_SELECT, 0},
	{"kprobe.multi", true, unix.BPF_PROG_TYPE_KPROBE, unix.BPF_TRACE_KPROBE_MULTI, 0},
	{"kretprobe.multi", true, unix.BPF_PROG_TYPE_KPROBE, unix.BPF_TRACE_KPROBE_MULTI, 0},
	{"kprobe.session", true, unix.BPF_PROG_TYPE_KPROBE, attachTraceKprobeSession, 0},
	{"uprobe.multi.s", true, unix.BPF_PROG_TYPE_KPROBE, unix.BPF_TRACE_UPROBE_MULTI, unix.BPF_F_SLEEPABLE},
	{"uprobe.multi", true, unix.BPF_PROG_TYPE_KPROBE, unix.BPF_TRACE_UPROBE_MULTI, 0},
	{"uretprobe.multi.s", true, unix.BPF_PROG_TYPE_KPROBE, unix.BPF_TRACE_UPROBE_MULTI, unix.BPF_F_SLEEPABLE},
	{"uretprobe.multi", true, unix.BPF_PROG_TYPE_KPROBE, unix.BPF_TRACE_UPROBE_MULTI, 0},
	{"uprobe.session.s", true, unix.BPF_PROG_TYPE_KPROBE, attachTraceUprobeSession, unix.BPF_F_SLEEPABLE},
	{"uprobe.session", true, unix.BPF_PROG_TYPE_KPROBE, attachTraceUprobeSession, 0},
	{"kprobe", true, unix.BPF_PROG_TYPE_KPROBE, 0, 0},
	{"kretprobe", true, unix.BPF_PROG_TYPE_KPROBE, 0, 0},
	{"ksyscall", true, unix.BPF_PROG_TYPE_KPROBE, 0, 0},
	{"kretsyscall", true, unix.BPF_PROG_TYPE_KPROBE, 0, 0},
	{"uprobe.s", true, unix.BPF_PROG_TYPE_KPROBE, 0, unix.BPF_F_SLEEPABLE},
	{"uprobe", true, unix.BPF_PROG_TYPE_KPROBE, 0, 0},
	{"uretprobe.s", true, unix.BPF_PROG_TYPE_KPROBE, 0, unix.BPF_F_SLEEPABLE},
	{"uretprobe", true, unix.BPF_PROG_TYPE_KPROBE, 0, 0},
	{"usdt.s", true, unix.BPF_PROG_TYPE_KPROBE, 0, unix.BPF_F_SLEEPABLE},
	{"usdt", true, unix.BPF_PROG_TYPE_KPROBE, 0, 0},
	{"tc/ingress", false, unix.BPF_PROG_TYPE_SCHED_CLS, unix.BPF_TCX_INGRESS, 0},
	{"tc/egress", false, unix.BPF_PROG_TYPE_SCHED_CLS, unix.BPF_TCX_EGRESS, 0},
	{"tcx/ingress", false, unix.BPF_PROG_TYPE_SCHED_CLS, unix.BPF_TCX_INGRESS, 0},
	{"tcx/egress", false, unix.BPF_PROG_TYPE_SCHED_CLS, unix.BPF_TCX_EGRESS, 0},
	{"tc", true, unix.BPF_PROG_TYPE_SCHED_CLS, 0, 0},
	{"classifier", true, unix.BPF_PROG_TYPE_SCHED_CLS, 0, 0},
	{"action", true, unix.BPF_PROG_TYPE_SCHED_ACT, 0, 0},
	{"netkit/primary", false, unix.BPF_PROG_TYPE_SCHED_CLS, attachNetkitPrimary, 0},
	{"netkit/peer", false, unix.BPF_PROG_TYPE_SCHED_CLS, attachNetkitPeer, 0},
	{"tracepoint", true, unix.BPF_PROG_TYPE_TRACEPOINT, 0, 0},
	{"tp", true, unix.BPF_PROG_TYPE_TRACEPOINT, 0, 0},
	{"raw_tracepoint.w", true, unix.BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE, 0, 0},
	{"raw_tp.w", true, unix.BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE, 0, 0},
	{"raw_tracepoint", true, unix.BPF_PROG_TYPE_RAW_TRACEPOINT, 0, 0},
	{"raw_tp", true, unix.BPF_PROG_TYPE_RAW_TRACEPOINT, 0, 0},
	{"tp_btf", true, unix.BPF_PROG_TYPE_TRACING, unix.BPF_TRACE_RAW_TP, 0},
	{"fentry.s", true, unix.BPF_PROG_TYPE_TRACING, unix.BPF_TRACE_FENTRY, unix.BPF_F_SLEEPABLE},
	{"fentry", true, unix.BPF_PROG_TYPE_TRACING, unix.BPF_TRACE_FENTRY, 0},
	{"fmod_ret.s", true, unix.BPF_PROG_TYPE_TRACING, unix.BPF_MODIFY_RETURN, unix.BPF_F_SLEEPABLE},
	{"fmod_ret", true, unix.BPF_PROG_TYPE_TRACING, unix.BPF_MODIFY_RETURN, 0},
	{"fexit.s", true, unix.BPF_PROG_TYPE_TRACING, unix.BPF_TRACE_FEXIT, unix.BPF_F_SLEEPABLE},
	{"fexit", true, unix.BPF_PROG_TYPE_TRACING, unix.BPF_TRACE_FEXIT, 0},
	{"freplace", true, unix.BPF_PROG_TYPE_EXT, 0, 0},
	{"lsm.s", true, unix.BPF_PROG_TYPE_LSM, unix.BPF_LSM_MAC, unix.BPF_F_SLEEPABLE},
	{"lsm_cgroup", true, unix.BPF_PROG_TYPE_LSM, unix.BPF_LSM_CGROUP, 0},
	{"lsm", true, unix.BPF_PROG_TYPE_LSM, unix.BPF_LSM_MAC, 0},
	{"iter.s", true, unix.BPF_PROG_TYPE_TRACING, unix.BPF_TRACE_ITER, unix.BPF_F_SLEEPABLE},
	{"iter", true, unix.BPF_PROG_TYPE_TRACING, unix.BPF_TRACE_ITER, 0},
	{"syscall", true, unix.BPF_PROG_TYPE_SYSCALL, 0, unix.BPF_F_SLEEPABLE},
	{"xdp.frags/devmap", false, unix.BPF_PROG_TYPE_XDP, unix.BPF_XDP_DEVMAP, unix.BPF_F_XDP_HAS_FRAGS},
	{"xdp/devmap", false, unix.BPF_PROG_TYPE_XDP, unix.BPF_XDP_DEVMAP, 0},
	{"xdp.frags/cpumap", false, unix.BPF_PROG_TYPE_XDP, unix.BPF_XDP_CPUMAP, unix.BPF_F_XDP_HAS_FRAGS},
	{"xdp/cpumap", false, unix.BPF_PROG_TYPE_XDP, unix.BPF_XDP_CPUMAP, 0},
	{"xdp.frags", true, unix.BPF_PROG_TYPE_XDP, unix.BPF_XDP, unix.BPF_F_XDP_HAS_FRAGS},
	{"xdp", true, unix.BPF_PROG_TYPE_XDP, unix.BPF_XDP, 0},
	{"perf_event", true, unix.BPF_PROG_TYPE_PERF_EVENT, 0, 0},
	{"lwt_in", true, unix.BPF_PROG_TYPE_LWT_IN, 0, 0},
	{"lwt_out", true, unix.BPF_PROG_TYPE_LWT_OUT, 0, 0},
	{"lwt_xmit", true, unix.BPF_PROG_TYPE_LWT_XMIT, 0, 0},
	{"lwt_seg6local", true, unix.BPF_PROG_TYPE_LWT_SEG6LOCAL, 0, 0},
	{"sockops", true, unix.BPF_PROG_TYPE_SOCK_OPS, unix.BPF_CGROUP_SOCK_OPS, 0},
	{"sk_skb/stream_parser", false, unix.BPF_PROG_TYPE_SK_SKB, unix.BPF_SK_SKB_STREAM_PARSER, 0},
	{"sk_skb/stream_verdict", false, unix.BPF_PROG_TYPE_SK_SKB, unix.BPF_SK_SKB_STREAM_VERDICT, 0},
	{"sk_skb/verdict", false, unix.BPF_PROG_TYPE_SK_SKB, unix.BPF_SK_SKB_VERDICT, 0},
	{"sk_skb", true, unix.BPF_PROG_TYPE_SK_SKB, 0, 0},
	{"sk_msg", true, unix.BPF_PROG_TYPE_SK_MSG, unix.BPF_SK_MSG_VERDICT, 0},
	{"lirc_mode2", true, unix.BPF_PROG_TYPE_LIRC_MODE2, unix.BPF_LIRC_MODE2, 0},
	{"flow_dissector", true, unix.BPF_PROG_TYPE_FLOW_DISSECTOR, unix.BPF_FLOW_DISSECTOR, 0},
	{"cgroup_skb/ingress", false, unix.BPF_PROG_TYPE_CGROUP_SKB, unix.BPF_CGROUP_INET_INGRESS, 0},
	{"cgroup_skb/egress", false, unix.BPF_PROG_TYPE_CGROUP_SKB, unix.BPF_CGROUP_INET_EGRESS, 0},
	{"cgroup/skb", false, unix.BPF_PROG_TYPE_CGROUP_SKB, 0, 0},
	{"cgroup/sock_create", false, unix.BPF_PROG_TYPE_CGROUP_SOCK, unix.BPF_CGROUP_INET_SOCK_CREATE, 0},
	{"cgroup/sock_release", false, unix.BPF_PROG_TYPE_CGROUP_SOCK, unix.BPF_CGROUP_INET_SOCK_RELEASE, 0},
	{"cgroup/sock", false, unix.BPF_PROG_TYPE_CGROUP_SOCK, unix.BPF_CGROUP_INET_SOCK_CREATE, 0},
	{"cgroup/post_bind4", false, unix.BPF_PROG_TYPE_CGROUP_SOCK, unix.BPF_CGROUP_INET4_POST_BIND, 0},
	{"cgroup/post_bind6", false, unix.BPF_PROG_TYPE_CGROUP_SOCK, unix.BPF_CGROUP_INET6_POST_BIND, 0},
	{"cgroup/dev", false, unix.BPF_PROG_TYPE_CGROUP_DEVICE, unix.BPF_CGROUP_DEVICE, 0},
	{"cgroup/bind4", false, unix.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, unix.BPF_CGROUP_INET4_BIND, 0},
	{"cgroup/bind6", false, unix.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, unix.BPF_CGROUP_INET6_BIND, 0},
	{"cgroup/connect4", false, unix.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, unix.BPF_CGROUP_INET4_CONNECT, 0},
	{"cgroup/connect6", false, unix.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, unix.BPF_CGROUP_INET6_CONNECT, 0},
	{"cgroup/connect_unix", false, unix.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, attachCgroupUnixConnect, 0},
	{"cgroup/sendmsg4", false, unix.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, unix.BPF_CGROUP_UDP4_SENDMSG, 0},
	{"cgroup/sendmsg6", false, unix.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, unix.BPF_CGROUP_UDP6_SENDMSG, 0},
	{"cgroup/sendmsg_unix", false, unix.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, attachCgroupUnixSendmsg, 0},
	{"cgroup/recvmsg4", false, unix.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, unix.BPF_CGROUP_UDP4_RECVMSG, 0},
	{"cgroup/recvmsg6", false, unix.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, unix.BPF_CGROUP_UDP6_RECVMSG, 0},
	{"cgroup/recvmsg_unix", false, unix.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, attachCgroupUnixRecvmsg, 0},
	{"cgroup/getpeername4", false, unix.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, unix.BPF_CGROUP_INET4_GETPEERNAME, 0},
	{"cgroup/getpeername6", false, unix.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, unix.BPF_CGROUP_INET6_GETPEERNAME, 0},
	{"cgroup/getpeername_unix", false, unix.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, attachCgroupUnixGetpeername, 0},
	{"cgroup/getsockname4", false, unix.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, unix.BPF_CGROUP_INET4_GETSOCKNAME, 0},
	{"cgroup/getsockname6", false, unix.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, unix.BPF_CGROUP_INET6_GETSOCKNAME, 0},
	{"cgroup/getsockname_unix", false, unix.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, attachCgroupUnixGetsockname, 0},
	{"cgroup/sysctl", false, unix.BPF_PROG_TYPE_CGROUP_SYSCTL, unix.BPF_CGROUP_SYSCTL, 0},
	{"cgroup/getsockopt", false, unix.BPF_PROG_TYPE_CGROUP_SOCKOPT, unix.BPF_CGROUP_GETSOCKOPT, 0},
	{"cgroup/setsockopt", false, unix.BPF_PROG_TYPE_CGROUP_SOCKOPT, unix.BPF_CGROUP_SETSOCKOPT, 0},
	{"cgroup_skb", true, unix.BPF_PROG_TYPE_CGROUP_SKB, 0, 0},
	{"sk_lookup", true, unix.BPF_PROG_TYPE_SK_LOOKUP, unix.BPF_SK_LOOKUP, 0},
	{"struct_ops.s", true, unix.BPF_PROG_TYPE_STRUCT_OPS, 0, unix.BPF_F_SLEEPABLE},
	{"struct_ops", true, unix.BPF_PROG_TYPE_STRUCT_OPS, 0, 0},
	{"netfilter", true, unix.BPF_PROG_TYPE_NETFILTER, unix.BPF_NETFILTER, 0},
}

// KindOf maps a section name to the program type libbpf's SEC()
// conventions give it. A prefix convention matches the bare name and the
// name followed by '/'; an exact one matches only itself.
func KindOf(section string) (ProgramKind, error) {
	for _, def := range sectionDefs {
		attachTo, ok := matchSection(section, def)
		if !ok {
			continue
		}
		return ProgramKind{
			Type:               def.progType,
			ExpectedAttachType: def.attachType,
			Flags:              def.flags,
			AttachTo:           attachTo,
			Convention:         def.name,
		}, nil
	}
	return ProgramKind{}, fmt.Errorf("section %q: %w", section, ErrUnknownSection)
}

func matchSection(section string, def sectionDef) (string, bool) {
	if section == def.name {
		return "", true
	}
	if !def.prefix {
		return "", false
	}
	rest, ok := strings.CutPrefix(section, def.name+"/")
	return rest, ok
}
