package main

import (
	"fmt"

	"github.com/rawload/rawload/reloc"
)

// progTypes names enum bpf_prog_type values as bpftool and libbpf do.
var progTypes = []string{
	"unspec", "socket_filter", "kprobe", "sched_cls", "sched_act",
	"tracepoint", "xdp", "perf_event", "cgroup_skb", "cgroup_sock",
	"lwt_in", "lwt_out", "lwt_xmit", "sock_ops", "sk_skb",
	"cgroup_device", "sk_msg", "raw_tracepoint", "cgroup_sock_addr", "lwt_seg6local",
	"lirc_mode2", "sk_reuseport", "flow_dissector", "cgroup_sysctl", "raw_tracepoint_writable",
	"cgroup_sockopt", "tracing", "struct_ops", "ext", "lsm",
	"sk_lookup", "syscall", "netfilter",
}

// mapTypes names enum bpf_map_type values as bpftool and libbpf do.
var mapTypes = []string{
	"unspec", "hash", "array", "prog_array", "perf_event_array",
	"percpu_hash", "percpu_array", "stack_trace", "cgroup_array", "lru_hash",
	"lru_percpu_hash", "lpm_trie", "array_of_maps", "hash_of_maps", "devmap",
	"sockmap", "cpumap", "xskmap", "sockhash", "cgroup_storage",
	"reuseport_sockarray", "percpu_cgroup_storage", "queue", "stack", "sk_storage",
	"devmap_hash", "struct_ops", "ringbuf", "inode_storage", "task_storage",
	"bloom_filter", "user_ringbuf", "cgrp_storage", "arena",
}

func progTypeName(t uint32) string { return tableName(progTypes, "prog_type", t) }

func mapTypeName(t uint32) string { return tableName(mapTypes, "map_type", t) }

// tableName falls back to the number for values newer than the table, so
// a new kernel type is shown rather than hidden.
func tableName(names []string, kind string, v uint32) string {
	if int(v) < len(names) {
		return names[v]
	}
	return fmt.Sprintf("%s(%d)", kind, v)
}

func pinningName(p uint32) string {
	switch p {
	case reloc.PinNone:
		return "none"
	case reloc.PinByName:
		return "by_name"
	}
	return fmt.Sprintf("pinning(%d)", p)
}
