package uapi

// Map types (enum bpf_map_type), for MapCreateAttr.MapType and MapInfo.Type.
const (
	MapTypeUnspec         = 0  // BPF_MAP_TYPE_UNSPEC
	MapTypeHash           = 1  // BPF_MAP_TYPE_HASH
	MapTypeArray          = 2  // BPF_MAP_TYPE_ARRAY
	MapTypeProgArray      = 3  // BPF_MAP_TYPE_PROG_ARRAY
	MapTypePerfEventArray = 4  // BPF_MAP_TYPE_PERF_EVENT_ARRAY
	MapTypePerCPUHash     = 5  // BPF_MAP_TYPE_PERCPU_HASH
	MapTypePerCPUArray    = 6  // BPF_MAP_TYPE_PERCPU_ARRAY
	MapTypeStackTrace     = 7  // BPF_MAP_TYPE_STACK_TRACE
	MapTypeCgroupArray    = 8  // BPF_MAP_TYPE_CGROUP_ARRAY
	MapTypeLRUHash        = 9  // BPF_MAP_TYPE_LRU_HASH
	MapTypeLRUPerCPUHash  = 10 // BPF_MAP_TYPE_LRU_PERCPU_HASH
	MapTypeLPMTrie        = 11 // BPF_MAP_TYPE_LPM_TRIE
	MapTypeArrayOfMaps    = 12 // BPF_MAP_TYPE_ARRAY_OF_MAPS
	MapTypeHashOfMaps     = 13 // BPF_MAP_TYPE_HASH_OF_MAPS
	MapTypeDevMap         = 14 // BPF_MAP_TYPE_DEVMAP
	MapTypeSockMap        = 15 // BPF_MAP_TYPE_SOCKMAP
	MapTypeCPUMap         = 16 // BPF_MAP_TYPE_CPUMAP
	MapTypeXSKMap         = 17 // BPF_MAP_TYPE_XSKMAP
	MapTypeSockHash       = 18 // BPF_MAP_TYPE_SOCKHASH
	// UAPI marks 19 and 21 deprecated in favour of MapTypeCgrpStorage but
	// keeps both names for each; objects still use them.
	MapTypeCgroupStorageDeprecated       = 19 // BPF_MAP_TYPE_CGROUP_STORAGE_DEPRECATED
	MapTypeCgroupStorage                 = 19 // BPF_MAP_TYPE_CGROUP_STORAGE
	MapTypeReuseportSockArray            = 20 // BPF_MAP_TYPE_REUSEPORT_SOCKARRAY
	MapTypePerCPUCgroupStorageDeprecated = 21 // BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE_DEPRECATED
	MapTypePerCPUCgroupStorage           = 21 // BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE
	MapTypeQueue                         = 22 // BPF_MAP_TYPE_QUEUE
	MapTypeStack                         = 23 // BPF_MAP_TYPE_STACK
	MapTypeSKStorage                     = 24 // BPF_MAP_TYPE_SK_STORAGE
	MapTypeDevMapHash                    = 25 // BPF_MAP_TYPE_DEVMAP_HASH
	MapTypeStructOps                     = 26 // BPF_MAP_TYPE_STRUCT_OPS
	MapTypeRingBuf                       = 27 // BPF_MAP_TYPE_RINGBUF
	MapTypeInodeStorage                  = 28 // BPF_MAP_TYPE_INODE_STORAGE
	MapTypeTaskStorage                   = 29 // BPF_MAP_TYPE_TASK_STORAGE
	MapTypeBloomFilter                   = 30 // BPF_MAP_TYPE_BLOOM_FILTER
	MapTypeUserRingBuf                   = 31 // BPF_MAP_TYPE_USER_RINGBUF
	MapTypeCgrpStorage                   = 32 // BPF_MAP_TYPE_CGRP_STORAGE
	MapTypeArena                         = 33 // BPF_MAP_TYPE_ARENA
)
