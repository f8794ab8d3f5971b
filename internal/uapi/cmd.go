package uapi

// Commands of bpf(2) (enum bpf_cmd), its first argument.
const (
	CmdMapCreate               = 0  // BPF_MAP_CREATE
	CmdMapLookupElem           = 1  // BPF_MAP_LOOKUP_ELEM
	CmdMapUpdateElem           = 2  // BPF_MAP_UPDATE_ELEM
	CmdMapDeleteElem           = 3  // BPF_MAP_DELETE_ELEM
	CmdMapGetNextKey           = 4  // BPF_MAP_GET_NEXT_KEY
	CmdProgLoad                = 5  // BPF_PROG_LOAD
	CmdObjPin                  = 6  // BPF_OBJ_PIN
	CmdObjGet                  = 7  // BPF_OBJ_GET
	CmdProgAttach              = 8  // BPF_PROG_ATTACH
	CmdProgDetach              = 9  // BPF_PROG_DETACH
	CmdProgTestRun             = 10 // BPF_PROG_TEST_RUN
	CmdProgRun                 = 10 // BPF_PROG_RUN
	CmdProgGetNextID           = 11 // BPF_PROG_GET_NEXT_ID
	CmdMapGetNextID            = 12 // BPF_MAP_GET_NEXT_ID
	CmdProgGetFDByID           = 13 // BPF_PROG_GET_FD_BY_ID
	CmdMapGetFDByID            = 14 // BPF_MAP_GET_FD_BY_ID
	CmdObjGetInfoByFD          = 15 // BPF_OBJ_GET_INFO_BY_FD
	CmdProgQuery               = 16 // BPF_PROG_QUERY
	CmdRawTracepointOpen       = 17 // BPF_RAW_TRACEPOINT_OPEN
	CmdBTFLoad                 = 18 // BPF_BTF_LOAD
	CmdBTFGetFDByID            = 19 // BPF_BTF_GET_FD_BY_ID
	CmdTaskFDQuery             = 20 // BPF_TASK_FD_QUERY
	CmdMapLookupAndDeleteElem  = 21 // BPF_MAP_LOOKUP_AND_DELETE_ELEM
	CmdMapFreeze               = 22 // BPF_MAP_FREEZE
	CmdBTFGetNextID            = 23 // BPF_BTF_GET_NEXT_ID
	CmdMapLookupBatch          = 24 // BPF_MAP_LOOKUP_BATCH
	CmdMapLookupAndDeleteBatch = 25 // BPF_MAP_LOOKUP_AND_DELETE_BATCH
	CmdMapUpdateBatch          = 26 // BPF_MAP_UPDATE_BATCH
	CmdMapDeleteBatch          = 27 // BPF_MAP_DELETE_BATCH
	CmdLinkCreate              = 28 // BPF_LINK_CREATE
	CmdLinkUpdate              = 29 // BPF_LINK_UPDATE
	CmdLinkGetFDByID           = 30 // BPF_LINK_GET_FD_BY_ID
	CmdLinkGetNextID           = 31 // BPF_LINK_GET_NEXT_ID
	CmdEnableStats             = 32 // BPF_ENABLE_STATS
	CmdIterCreate              = 33 // BPF_ITER_CREATE
	CmdLinkDetach              = 34 // BPF_LINK_DETACH
	CmdProgBindMap             = 35 // BPF_PROG_BIND_MAP
	CmdTokenCreate             = 36 // BPF_TOKEN_CREATE
	CmdProgStreamReadByFD      = 37 // BPF_PROG_STREAM_READ_BY_FD
)
