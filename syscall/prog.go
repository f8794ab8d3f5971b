package syscall

import (
	"unsafe"

	"github.com/rawload/rawload/internal/uapi"
)

// ProgLoadAttr is the BPF_PROG_LOAD member of union bpf_attr.
type ProgLoadAttr struct {
	ProgType           uint32
	InsnCnt            uint32
	Insns              uint64
	License            uint64
	LogLevel           uint32
	LogSize            uint32
	LogBuf             uint64
	KernVersion        uint32
	ProgFlags          uint32
	ProgName           [uapi.ObjNameLen]byte
	ProgIfindex        uint32
	ExpectedAttachType uint32
	ProgBTFFD          uint32
	FuncInfoRecSize    uint32
	FuncInfo           uint64
	FuncInfoCnt        uint32
	LineInfoRecSize    uint32
	LineInfo           uint64
	LineInfoCnt        uint32
	AttachBTFID        uint32
	AttachBTFObjFD     uint32 // also attach_prog_fd, the program an extension or tracing program attaches to
	CoreReloCnt        uint32
	FDArray            uint64
	CoreRelos          uint64
	CoreReloRecSize    uint32
	LogTrueSize        uint32
	ProgTokenFD        int32
	FDArrayCnt         uint32
	Signature          uint64
	SignatureSize      uint32
	KeyringID          int32
}

// ProgLoadRaw makes one BPF_PROG_LOAD attempt and returns the program's fd.
// The kernel writes LogTrueSize back into attr.
func ProgLoadRaw(attr *ProgLoadAttr) (int, error) {
	return bpf(uapi.CmdProgLoad, unsafe.Pointer(attr), unsafe.Sizeof(*attr))
}
