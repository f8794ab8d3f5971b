package uapi

// Flags of BPF_MAP_CREATE's map_flags (UAPI: "flags for BPF_MAP_CREATE command").
// Some are reused elsewhere: FlagRdOnly and FlagWrOnly in the file_flags of
// BPF_OBJ_GET and the open_flags of *_GET_FD_BY_ID, FlagPathFD in BPF_OBJ_PIN
// and BPF_OBJ_GET, FlagTokenFD in prog_flags and btf_flags, FlagLink in attach
// flags.
const (
	FlagNoPrealloc    = 1 << 0  // BPF_F_NO_PREALLOC
	FlagNoCommonLRU   = 1 << 1  // BPF_F_NO_COMMON_LRU
	FlagNUMANode      = 1 << 2  // BPF_F_NUMA_NODE
	FlagRdOnly        = 1 << 3  // BPF_F_RDONLY
	FlagWrOnly        = 1 << 4  // BPF_F_WRONLY
	FlagStackBuildID  = 1 << 5  // BPF_F_STACK_BUILD_ID
	FlagZeroSeed      = 1 << 6  // BPF_F_ZERO_SEED
	FlagRdOnlyProg    = 1 << 7  // BPF_F_RDONLY_PROG
	FlagWrOnlyProg    = 1 << 8  // BPF_F_WRONLY_PROG
	FlagClone         = 1 << 9  // BPF_F_CLONE
	FlagMmapable      = 1 << 10 // BPF_F_MMAPABLE
	FlagPreserveElems = 1 << 11 // BPF_F_PRESERVE_ELEMS
	FlagInnerMap      = 1 << 12 // BPF_F_INNER_MAP
	FlagLink          = 1 << 13 // BPF_F_LINK
	FlagPathFD        = 1 << 14 // BPF_F_PATH_FD
	FlagVTypeBTFObjFD = 1 << 15 // BPF_F_VTYPE_BTF_OBJ_FD
	FlagTokenFD       = 1 << 16 // BPF_F_TOKEN_FD
	FlagSegvOnFault   = 1 << 17 // BPF_F_SEGV_ON_FAULT
	FlagNoUserConv    = 1 << 18 // BPF_F_NO_USER_CONV
)

// Flags of BPF_MAP_UPDATE_ELEM; FlagLock also applies to lookups.
const (
	UpdateAny     = 0 // BPF_ANY
	UpdateNoExist = 1 // BPF_NOEXIST
	UpdateExist   = 2 // BPF_EXIST
	FlagLock      = 4 // BPF_F_LOCK
)

// Flags of BPF_PROG_LOAD's prog_flags.
const (
	ProgFlagStrictAlignment   = 1 << 0 // BPF_F_STRICT_ALIGNMENT
	ProgFlagAnyAlignment      = 1 << 1 // BPF_F_ANY_ALIGNMENT
	ProgFlagTestRndHi32       = 1 << 2 // BPF_F_TEST_RND_HI32
	ProgFlagTestStateFreq     = 1 << 3 // BPF_F_TEST_STATE_FREQ
	ProgFlagSleepable         = 1 << 4 // BPF_F_SLEEPABLE
	ProgFlagXDPHasFrags       = 1 << 5 // BPF_F_XDP_HAS_FRAGS
	ProgFlagXDPDevBoundOnly   = 1 << 6 // BPF_F_XDP_DEV_BOUND_ONLY
	ProgFlagTestRegInvariants = 1 << 7 // BPF_F_TEST_REG_INVARIANTS
)

// Flags of BPF_PROG_ATTACH's attach_flags and of tcx/netkit links.
const (
	AttachFlagAllowOverride = 1 << 0 // BPF_F_ALLOW_OVERRIDE
	AttachFlagAllowMulti    = 1 << 1 // BPF_F_ALLOW_MULTI
	AttachFlagReplace       = 1 << 2 // BPF_F_REPLACE
	AttachFlagBefore        = 1 << 3 // BPF_F_BEFORE
	AttachFlagAfter         = 1 << 4 // BPF_F_AFTER
	AttachFlagID            = 1 << 5 // BPF_F_ID
	AttachFlagPreorder      = 1 << 6 // BPF_F_PREORDER
)

// Flags of BPF_PROG_QUERY.
const (
	QueryEffective = 1 // BPF_F_QUERY_EFFECTIVE
)

// Flags of BPF_PROG_TEST_RUN.
const (
	TestRunOnCPU               = 1 << 0 // BPF_F_TEST_RUN_ON_CPU
	TestRunXDPLiveFrames       = 1 << 1 // BPF_F_TEST_XDP_LIVE_FRAMES
	TestRunSKBChecksumComplete = 1 << 2 // BPF_F_TEST_SKB_CHECKSUM_COMPLETE
)

// Flags of the kprobe_multi, uprobe_multi and netfilter variants of BPF_LINK_CREATE.
const (
	KprobeMultiReturn = 1 // BPF_F_KPROBE_MULTI_RETURN
	UprobeMultiReturn = 1 // BPF_F_UPROBE_MULTI_RETURN
	NetfilterIPDefrag = 1 // BPF_F_NETFILTER_IP_DEFRAG
)
