package uapi

import "fmt"

// Names of enum values as bpftool and libbpf print them: the UAPI name in
// lower case without its prefix.
var (
	progTypeNames = []string{
		"unspec", "socket_filter", "kprobe", "sched_cls", "sched_act", "tracepoint",
		"xdp", "perf_event", "cgroup_skb", "cgroup_sock", "lwt_in", "lwt_out",
		"lwt_xmit", "sock_ops", "sk_skb", "cgroup_device", "sk_msg",
		"raw_tracepoint", "cgroup_sock_addr", "lwt_seg6local", "lirc_mode2",
		"sk_reuseport", "flow_dissector", "cgroup_sysctl",
		"raw_tracepoint_writable", "cgroup_sockopt", "tracing", "struct_ops", "ext",
		"lsm", "sk_lookup", "syscall", "netfilter",
	}
	mapTypeNames = []string{
		"unspec", "hash", "array", "prog_array", "perf_event_array", "percpu_hash",
		"percpu_array", "stack_trace", "cgroup_array", "lru_hash",
		"lru_percpu_hash", "lpm_trie", "array_of_maps", "hash_of_maps", "devmap",
		"sockmap", "cpumap", "xskmap", "sockhash", "cgroup_storage",
		"reuseport_sockarray", "percpu_cgroup_storage", "queue", "stack",
		"sk_storage", "devmap_hash", "struct_ops", "ringbuf", "inode_storage",
		"task_storage", "bloom_filter", "user_ringbuf", "cgrp_storage", "arena",
	}
	attachTypeNames = []string{
		"cgroup_inet_ingress", "cgroup_inet_egress", "cgroup_inet_sock_create",
		"cgroup_sock_ops", "sk_skb_stream_parser", "sk_skb_stream_verdict",
		"cgroup_device", "sk_msg_verdict", "cgroup_inet4_bind", "cgroup_inet6_bind",
		"cgroup_inet4_connect", "cgroup_inet6_connect", "cgroup_inet4_post_bind",
		"cgroup_inet6_post_bind", "cgroup_udp4_sendmsg", "cgroup_udp6_sendmsg",
		"lirc_mode2", "flow_dissector", "cgroup_sysctl", "cgroup_udp4_recvmsg",
		"cgroup_udp6_recvmsg", "cgroup_getsockopt", "cgroup_setsockopt",
		"trace_raw_tp", "trace_fentry", "trace_fexit", "modify_return", "lsm_mac",
		"trace_iter", "cgroup_inet4_getpeername", "cgroup_inet6_getpeername",
		"cgroup_inet4_getsockname", "cgroup_inet6_getsockname", "xdp_devmap",
		"cgroup_inet_sock_release", "xdp_cpumap", "sk_lookup", "xdp",
		"sk_skb_verdict", "sk_reuseport_select", "sk_reuseport_select_or_migrate",
		"perf_event", "trace_kprobe_multi", "lsm_cgroup", "struct_ops", "netfilter",
		"tcx_ingress", "tcx_egress", "trace_uprobe_multi", "cgroup_unix_connect",
		"cgroup_unix_sendmsg", "cgroup_unix_recvmsg", "cgroup_unix_getpeername",
		"cgroup_unix_getsockname", "netkit_primary", "netkit_peer",
		"trace_kprobe_session", "trace_uprobe_session",
	}
	linkTypeNames = []string{
		"unspec", "raw_tracepoint", "tracing", "cgroup", "iter", "netns", "xdp",
		"perf_event", "kprobe_multi", "struct_ops", "netfilter", "tcx",
		"uprobe_multi", "netkit", "sockmap",
	}
)

// ProgTypeName names a BPF_PROG_TYPE_* value: "xdp", "tracing".
func ProgTypeName(t uint32) string { return enumName(progTypeNames, "prog_type", t) }

// MapTypeName names a BPF_MAP_TYPE_* value: "hash", "ringbuf".
func MapTypeName(t uint32) string { return enumName(mapTypeNames, "map_type", t) }

// AttachTypeName names a bpf_attach_type value: "cgroup_inet_ingress", "trace_fentry".
func AttachTypeName(t uint32) string { return enumName(attachTypeNames, "attach_type", t) }

// LinkTypeName names a BPF_LINK_TYPE_* value: "raw_tracepoint", "xdp".
func LinkTypeName(t uint32) string { return enumName(linkTypeNames, "link_type", t) }

// enumName falls back to the number for values newer than the table, so
// a new kernel type is shown rather than hidden.
func enumName(names []string, kind string, v uint32) string {
	if uint64(v) < uint64(len(names)) {
		return names[v]
	}
	return fmt.Sprintf("%s(%d)", kind, v)
}
