package syscall

import (
	"errors"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
)

// infoAttr is the info member of union bpf_attr.
type infoAttr struct {
	BPFFD   uint32
	InfoLen uint32
	Info    uint64
}

// objInfo fills the info struct at info, of size bytes, for the object
// behind fd. The kernel copies only as much as both sides know of, and
// checks that bytes it does not know of are zero.
func objInfo(fd int, info unsafe.Pointer, size uintptr) error {
	attr := infoAttr{
		BPFFD:   uint32(fd),
		InfoLen: uint32(size),
		Info:    addr(uintptr(info)),
	}
	_, err := bpf(uapi.CmdObjGetInfoByFD, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(info)
	return err
}

// progInfo is struct bpf_prog_info.
type progInfo struct {
	Type                 uint32
	ID                   uint32
	Tag                  [uapi.TagSize]byte
	JitedProgLen         uint32
	XlatedProgLen        uint32
	JitedProgInsns       uint64
	XlatedProgInsns      uint64
	LoadTime             uint64
	CreatedByUID         uint32
	NrMapIDs             uint32
	MapIDs               uint64
	Name                 [uapi.ObjNameLen]byte
	Ifindex              uint32
	Bits                 uint32 // bit 0: gpl_compatible
	NetnsDev             uint64
	NetnsIno             uint64
	NrJitedKsyms         uint32
	NrJitedFuncLens      uint32
	JitedKsyms           uint64
	JitedFuncLens        uint64
	BTFID                uint32
	FuncInfoRecSize      uint32
	FuncInfo             uint64
	NrFuncInfo           uint32
	NrLineInfo           uint32
	LineInfo             uint64
	JitedLineInfo        uint64
	NrJitedLineInfo      uint32
	LineInfoRecSize      uint32
	JitedLineInfoRecSize uint32
	NrProgTags           uint32
	ProgTags             uint64
	RunTimeNs            uint64
	RunCnt               uint64
	RecursionMisses      uint64
	VerifiedInsns        uint32
	AttachBTFObjID       uint32
	AttachBTFID          uint32
	_                    uint32
}

// ProgInfo describes a loaded program.
type ProgInfo struct {
	Type          uint32
	ID            uint32
	Tag           [uapi.TagSize]byte
	Name          string
	MapIDs        []uint32
	VerifiedInsns uint32
	XlatedProgLen uint32
	JitedProgLen  uint32
	BTFID         uint32
	LoadTime      uint64 // ns since boot
	CreatedByUID  uint32
	GPLCompatible bool
	Ifindex       uint32
	NrFuncInfo    uint32
	NrLineInfo    uint32
	// RunTimeNs and RunCnt grow only while BPF_ENABLE_STATS (or the
	// kernel.bpf_stats_enabled sysctl) is on.
	RunTimeNs       uint64
	RunCnt          uint64
	RecursionMisses uint64
	AttachBTFObjID  uint32
	AttachBTFID     uint32
}

// ProgInfoByFD describes the program behind fd, in one call: MapIDs is
// nil.
func ProgInfoByFD(fd int) (*ProgInfo, error) { return progInfoByFD(fd, false) }

// ProgInfoWithMapsByFD is ProgInfoByFD with MapIDs filled in, which takes
// a second call for a program that uses maps.
func ProgInfoWithMapsByFD(fd int) (*ProgInfo, error) { return progInfoByFD(fd, true) }

func progInfoByFD(fd int, mapIDs bool) (*ProgInfo, error) {
	var info progInfo
	if err := objInfo(fd, unsafe.Pointer(&info), unsafe.Sizeof(info)); err != nil {
		return nil, err
	}

	var ids []uint32
	// BPF_PROG_BIND_MAP can add maps between the two questions; ask again
	// while the room was too small, a few times.
	for n, tries := info.NrMapIDs, 0; mapIDs && n > 0 && tries < 3; tries++ {
		ids = make([]uint32, n)
		info = progInfo{NrMapIDs: n, MapIDs: sliceAddr(ids)}
		err := objInfo(fd, unsafe.Pointer(&info), unsafe.Sizeof(info))
		runtime.KeepAlive(ids)
		if err != nil {
			return nil, err
		}
		if info.NrMapIDs <= n {
			ids = ids[:info.NrMapIDs]
			break
		}
		n = info.NrMapIDs
	}

	return &ProgInfo{
		Type:            info.Type,
		ID:              info.ID,
		Tag:             info.Tag,
		Name:            unix.ByteSliceToString(info.Name[:]),
		MapIDs:          ids,
		VerifiedInsns:   info.VerifiedInsns,
		XlatedProgLen:   info.XlatedProgLen,
		JitedProgLen:    info.JitedProgLen,
		BTFID:           info.BTFID,
		LoadTime:        info.LoadTime,
		CreatedByUID:    info.CreatedByUID,
		GPLCompatible:   info.Bits&1 != 0,
		Ifindex:         info.Ifindex,
		NrFuncInfo:      info.NrFuncInfo,
		NrLineInfo:      info.NrLineInfo,
		RunTimeNs:       info.RunTimeNs,
		RunCnt:          info.RunCnt,
		RecursionMisses: info.RecursionMisses,
		AttachBTFObjID:  info.AttachBTFObjID,
		AttachBTFID:     info.AttachBTFID,
	}, nil
}

// mapInfo is struct bpf_map_info.
type mapInfo struct {
	Type                  uint32
	ID                    uint32
	KeySize               uint32
	ValueSize             uint32
	MaxEntries            uint32
	MapFlags              uint32
	Name                  [uapi.ObjNameLen]byte
	Ifindex               uint32
	BTFVmlinuxValueTypeID uint32
	NetnsDev              uint64
	NetnsIno              uint64
	BTFID                 uint32
	BTFKeyTypeID          uint32
	BTFValueTypeID        uint32
	BTFVmlinuxID          uint32
	MapExtra              uint64
	Hash                  uint64
	HashSize              uint32
	_                     uint32
}

// MapInfo describes a map.
type MapInfo struct {
	Type                  uint32
	ID                    uint32
	KeySize               uint32
	ValueSize             uint32
	MaxEntries            uint32
	MapFlags              uint32
	Name                  string
	Ifindex               uint32
	BTFID                 uint32
	BTFKeyTypeID          uint32
	BTFValueTypeID        uint32
	BTFVmlinuxValueTypeID uint32
	MapExtra              uint64
}

// MapInfoByFD describes the map behind fd.
func MapInfoByFD(fd int) (*MapInfo, error) {
	var info mapInfo
	if err := objInfo(fd, unsafe.Pointer(&info), unsafe.Sizeof(info)); err != nil {
		return nil, err
	}
	return &MapInfo{
		Type:                  info.Type,
		ID:                    info.ID,
		KeySize:               info.KeySize,
		ValueSize:             info.ValueSize,
		MaxEntries:            info.MaxEntries,
		MapFlags:              info.MapFlags,
		Name:                  unix.ByteSliceToString(info.Name[:]),
		Ifindex:               info.Ifindex,
		BTFID:                 info.BTFID,
		BTFKeyTypeID:          info.BTFKeyTypeID,
		BTFValueTypeID:        info.BTFValueTypeID,
		BTFVmlinuxValueTypeID: info.BTFVmlinuxValueTypeID,
		MapExtra:              info.MapExtra,
	}, nil
}

// btfInfo is struct bpf_btf_info.
type btfInfo struct {
	BTF       uint64
	BTFSize   uint32
	ID        uint32
	Name      uint64
	NameLen   uint32
	KernelBTF uint32
}

// BTFInfo describes a BTF object.
type BTFInfo struct {
	ID uint32
	// Name is "vmlinux" or a module's name for kernel BTF, empty for BTF
	// loaded from user space.
	Name      string
	KernelBTF bool
	BTFSize   uint32
}

// BTFInfoByFD describes the BTF object behind fd, without its contents.
func BTFInfoByFD(fd int) (*BTFInfo, error) {
	// Kernel BTF is named after its module, and module names are shorter
	// than 64 bytes (MODULE_NAME_LEN), so one question is enough; ENOSPC
	// would mean a longer name, asked for again at its full size.
	name := make([]byte, 64)
	for {
		info := btfInfo{Name: sliceAddr(name), NameLen: uint32(len(name))}
		err := objInfo(fd, unsafe.Pointer(&info), unsafe.Sizeof(info))
		runtime.KeepAlive(name)
		if errors.Is(err, unix.ENOSPC) && int(info.NameLen) >= len(name) {
			name = make([]byte, info.NameLen+1)
			continue
		}
		if err != nil {
			return nil, err
		}
		return &BTFInfo{
			ID:        info.ID,
			Name:      unix.ByteSliceToString(name),
			KernelBTF: info.KernelBTF != 0,
			BTFSize:   info.BTFSize,
		}, nil
	}
}

// BTFDataByFD returns the raw BTF blob of the BTF object behind fd: what
// user space loaded, or the kernel's own for vmlinux and modules.
func BTFDataByFD(fd int) ([]byte, error) {
	info, err := BTFInfoByFD(fd)
	if err != nil {
		return nil, err
	}
	data := make([]byte, info.BTFSize)
	raw := btfInfo{BTF: sliceAddr(data), BTFSize: uint32(len(data))}
	err = objInfo(fd, unsafe.Pointer(&raw), unsafe.Sizeof(raw))
	runtime.KeepAlive(data)
	if err != nil {
		return nil, err
	}
	return data[:raw.BTFSize], nil
}

// linkInfo is the head of struct bpf_link_info, before the union that
// depends on the link type. The kernel copies no more than it is asked for.
type linkInfo struct {
	Type   uint32
	ID     uint32
	ProgID uint32
}

// LinkInfo describes a link, leaving out the part specific to its type.
type LinkInfo struct {
	Type   uint32
	ID     uint32
	ProgID uint32
}

// LinkInfoByFD describes the link behind fd.
func LinkInfoByFD(fd int) (*LinkInfo, error) {
	var info linkInfo
	if err := objInfo(fd, unsafe.Pointer(&info), unsafe.Sizeof(info)); err != nil {
		return nil, err
	}
	return &LinkInfo{Type: info.Type, ID: info.ID, ProgID: info.ProgID}, nil
}
