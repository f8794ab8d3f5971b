package uapi

// Attach types (enum bpf_attach_type): the expected_attach_type of BPF_PROG_LOAD
// and the attach_type of BPF_PROG_ATTACH and BPF_LINK_CREATE.
const (
	AttachCgroupInetIngress          = 0  // BPF_CGROUP_INET_INGRESS
	AttachCgroupInetEgress           = 1  // BPF_CGROUP_INET_EGRESS
	AttachCgroupInetSockCreate       = 2  // BPF_CGROUP_INET_SOCK_CREATE
	AttachCgroupSockOps              = 3  // BPF_CGROUP_SOCK_OPS
	AttachSKSKBStreamParser          = 4  // BPF_SK_SKB_STREAM_PARSER
	AttachSKSKBStreamVerdict         = 5  // BPF_SK_SKB_STREAM_VERDICT
	AttachCgroupDevice               = 6  // BPF_CGROUP_DEVICE
	AttachSKMsgVerdict               = 7  // BPF_SK_MSG_VERDICT
	AttachCgroupInet4Bind            = 8  // BPF_CGROUP_INET4_BIND
	AttachCgroupInet6Bind            = 9  // BPF_CGROUP_INET6_BIND
	AttachCgroupInet4Connect         = 10 // BPF_CGROUP_INET4_CONNECT
	AttachCgroupInet6Connect         = 11 // BPF_CGROUP_INET6_CONNECT
	AttachCgroupInet4PostBind        = 12 // BPF_CGROUP_INET4_POST_BIND
	AttachCgroupInet6PostBind        = 13 // BPF_CGROUP_INET6_POST_BIND
	AttachCgroupUDP4Sendmsg          = 14 // BPF_CGROUP_UDP4_SENDMSG
	AttachCgroupUDP6Sendmsg          = 15 // BPF_CGROUP_UDP6_SENDMSG
	AttachLircMode2                  = 16 // BPF_LIRC_MODE2
	AttachFlowDissector              = 17 // BPF_FLOW_DISSECTOR
	AttachCgroupSysctl               = 18 // BPF_CGROUP_SYSCTL
	AttachCgroupUDP4Recvmsg          = 19 // BPF_CGROUP_UDP4_RECVMSG
	AttachCgroupUDP6Recvmsg          = 20 // BPF_CGROUP_UDP6_RECVMSG
	AttachCgroupGetsockopt           = 21 // BPF_CGROUP_GETSOCKOPT
	AttachCgroupSetsockopt           = 22 // BPF_CGROUP_SETSOCKOPT
	AttachTraceRawTP                 = 23 // BPF_TRACE_RAW_TP
	AttachTraceFentry                = 24 // BPF_TRACE_FENTRY
	AttachTraceFexit                 = 25 // BPF_TRACE_FEXIT
	AttachModifyReturn               = 26 // BPF_MODIFY_RETURN
	AttachLSMMAC                     = 27 // BPF_LSM_MAC
	AttachTraceIter                  = 28 // BPF_TRACE_ITER
	AttachCgroupInet4Getpeername     = 29 // BPF_CGROUP_INET4_GETPEERNAME
	AttachCgroupInet6Getpeername     = 30 // BPF_CGROUP_INET6_GETPEERNAME
	AttachCgroupInet4Getsockname     = 31 // BPF_CGROUP_INET4_GETSOCKNAME
	AttachCgroupInet6Getsockname     = 32 // BPF_CGROUP_INET6_GETSOCKNAME
	AttachXDPDevMap                  = 33 // BPF_XDP_DEVMAP
	AttachCgroupInetSockRelease      = 34 // BPF_CGROUP_INET_SOCK_RELEASE
	AttachXDPCPUMap                  = 35 // BPF_XDP_CPUMAP
	AttachSKLookup                   = 36 // BPF_SK_LOOKUP
	AttachXDP                        = 37 // BPF_XDP
	AttachSKSKBVerdict               = 38 // BPF_SK_SKB_VERDICT
	AttachSKReuseportSelect          = 39 // BPF_SK_REUSEPORT_SELECT
	AttachSKReuseportSelectOrMigrate = 40 // BPF_SK_REUSEPORT_SELECT_OR_MIGRATE
	AttachPerfEvent                  = 41 // BPF_PERF_EVENT
	AttachTraceKprobeMulti           = 42 // BPF_TRACE_KPROBE_MULTI
	AttachLSMCgroup                  = 43 // BPF_LSM_CGROUP
	AttachStructOps                  = 44 // BPF_STRUCT_OPS
	AttachNetfilter                  = 45 // BPF_NETFILTER
	AttachTCXIngress                 = 46 // BPF_TCX_INGRESS
	AttachTCXEgress                  = 47 // BPF_TCX_EGRESS
	AttachTraceUprobeMulti           = 48 // BPF_TRACE_UPROBE_MULTI
	AttachCgroupUnixConnect          = 49 // BPF_CGROUP_UNIX_CONNECT
	AttachCgroupUnixSendmsg          = 50 // BPF_CGROUP_UNIX_SENDMSG
	AttachCgroupUnixRecvmsg          = 51 // BPF_CGROUP_UNIX_RECVMSG
	AttachCgroupUnixGetpeername      = 52 // BPF_CGROUP_UNIX_GETPEERNAME
	AttachCgroupUnixGetsockname      = 53 // BPF_CGROUP_UNIX_GETSOCKNAME
	AttachNetkitPrimary              = 54 // BPF_NETKIT_PRIMARY
	AttachNetkitPeer                 = 55 // BPF_NETKIT_PEER
	AttachTraceKprobeSession         = 56 // BPF_TRACE_KPROBE_SESSION
	AttachTraceUprobeSession         = 57 // BPF_TRACE_UPROBE_SESSION
)
