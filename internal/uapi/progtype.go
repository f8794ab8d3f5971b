package uapi

// Program types (enum bpf_prog_type), for ProgLoadAttr.ProgType and ProgInfo.Type.
const (
	ProgTypeUnspec                = 0  // BPF_PROG_TYPE_UNSPEC
	ProgTypeSocketFilter          = 1  // BPF_PROG_TYPE_SOCKET_FILTER
	ProgTypeKprobe                = 2  // BPF_PROG_TYPE_KPROBE
	ProgTypeSchedCLS              = 3  // BPF_PROG_TYPE_SCHED_CLS
	ProgTypeSchedACT              = 4  // BPF_PROG_TYPE_SCHED_ACT
	ProgTypeTracepoint            = 5  // BPF_PROG_TYPE_TRACEPOINT
	ProgTypeXDP                   = 6  // BPF_PROG_TYPE_XDP
	ProgTypePerfEvent             = 7  // BPF_PROG_TYPE_PERF_EVENT
	ProgTypeCgroupSKB             = 8  // BPF_PROG_TYPE_CGROUP_SKB
	ProgTypeCgroupSock            = 9  // BPF_PROG_TYPE_CGROUP_SOCK
	ProgTypeLWTIn                 = 10 // BPF_PROG_TYPE_LWT_IN
	ProgTypeLWTOut                = 11 // BPF_PROG_TYPE_LWT_OUT
	ProgTypeLWTXmit               = 12 // BPF_PROG_TYPE_LWT_XMIT
	ProgTypeSockOps               = 13 // BPF_PROG_TYPE_SOCK_OPS
	ProgTypeSKSKB                 = 14 // BPF_PROG_TYPE_SK_SKB
	ProgTypeCgroupDevice          = 15 // BPF_PROG_TYPE_CGROUP_DEVICE
	ProgTypeSKMsg                 = 16 // BPF_PROG_TYPE_SK_MSG
	ProgTypeRawTracepoint         = 17 // BPF_PROG_TYPE_RAW_TRACEPOINT
	ProgTypeCgroupSockAddr        = 18 // BPF_PROG_TYPE_CGROUP_SOCK_ADDR
	ProgTypeLWTSeg6Local          = 19 // BPF_PROG_TYPE_LWT_SEG6LOCAL
	ProgTypeLircMode2             = 20 // BPF_PROG_TYPE_LIRC_MODE2
	ProgTypeSKReuseport           = 21 // BPF_PROG_TYPE_SK_REUSEPORT
	ProgTypeFlowDissector         = 22 // BPF_PROG_TYPE_FLOW_DISSECTOR
	ProgTypeCgroupSysctl          = 23 // BPF_PROG_TYPE_CGROUP_SYSCTL
	ProgTypeRawTracepointWritable = 24 // BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE
	ProgTypeCgroupSockopt         = 25 // BPF_PROG_TYPE_CGROUP_SOCKOPT
	ProgTypeTracing               = 26 // BPF_PROG_TYPE_TRACING
	ProgTypeStructOps             = 27 // BPF_PROG_TYPE_STRUCT_OPS
	ProgTypeExt                   = 28 // BPF_PROG_TYPE_EXT
	ProgTypeLSM                   = 29 // BPF_PROG_TYPE_LSM
	ProgTypeSKLookup              = 30 // BPF_PROG_TYPE_SK_LOOKUP
	ProgTypeSyscall               = 31 // BPF_PROG_TYPE_SYSCALL
	ProgTypeNetfilter             = 32 // BPF_PROG_TYPE_NETFILTER
)
