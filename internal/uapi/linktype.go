package uapi

// Link types (enum bpf_link_type), as the kernel reports them in link info.
const (
	LinkTypeUnspec        = 0  // BPF_LINK_TYPE_UNSPEC
	LinkTypeRawTracepoint = 1  // BPF_LINK_TYPE_RAW_TRACEPOINT
	LinkTypeTracing       = 2  // BPF_LINK_TYPE_TRACING
	LinkTypeCgroup        = 3  // BPF_LINK_TYPE_CGROUP
	LinkTypeIter          = 4  // BPF_LINK_TYPE_ITER
	LinkTypeNetns         = 5  // BPF_LINK_TYPE_NETNS
	LinkTypeXDP           = 6  // BPF_LINK_TYPE_XDP
	LinkTypePerfEvent     = 7  // BPF_LINK_TYPE_PERF_EVENT
	LinkTypeKprobeMulti   = 8  // BPF_LINK_TYPE_KPROBE_MULTI
	LinkTypeStructOps     = 9  // BPF_LINK_TYPE_STRUCT_OPS
	LinkTypeNetfilter     = 10 // BPF_LINK_TYPE_NETFILTER
	LinkTypeTCX           = 11 // BPF_LINK_TYPE_TCX
	LinkTypeUprobeMulti   = 12 // BPF_LINK_TYPE_UPROBE_MULTI
	LinkTypeNetkit        = 13 // BPF_LINK_TYPE_NETKIT
	LinkTypeSockMap       = 14 // BPF_LINK_TYPE_SOCKMAP
)
