package syscall

import (
	"runtime"
	"unsafe"

	"github.com/rawload/rawload/internal/uapi"
)

// objAttr is the BPF_OBJ_PIN and BPF_OBJ_GET member of union bpf_attr.
type objAttr struct {
	Pathname  uint64
	BPFFD     uint32
	FileFlags uint32
	PathFD    int32
	_         uint32
}

// ObjPin pins the map, program, link or BTF behind fd at path, which must
// lie in a bpf file system.
func ObjPin(fd int, path string) error {
	p, pathAddr, err := cstring(path)
	if err != nil {
		return err
	}
	attr := objAttr{Pathname: pathAddr, BPFFD: uint32(fd)}
	_, err = bpf(uapi.CmdObjPin, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(p)
	return err
}

// ObjGet opens the object pinned at path and returns a new fd for it.
// flags may be FlagRdOnly or FlagWrOnly to limit what the fd may do to a map.
func ObjGet(path string, flags uint32) (int, error) {
	p, pathAddr, err := cstring(path)
	if err != nil {
		return -1, err
	}
	attr := objAttr{Pathname: pathAddr, FileFlags: flags}
	fd, err := bpf(uapi.CmdObjGet, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(p)
	return fd, err
}

// idAttr is the member of union bpf_attr shared by the *_GET_NEXT_ID and
// *_GET_FD_BY_ID commands. ID is start_id or the prog, map, BTF or link id.
type idAttr struct {
	ID            uint32
	NextID        uint32
	OpenFlags     uint32
	FDByIDTokenFD int32
}

func getNextID(cmd int, start uint32) (uint32, error) {
	attr := idAttr{ID: start}
	if _, err := bpf(cmd, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); err != nil {
		return 0, err
	}
	return attr.NextID, nil
}

func getFDByID(cmd int, id uint32) (int, error) {
	attr := idAttr{ID: id}
	return bpf(cmd, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
}

// ProgGetNextID returns the smallest program ID above start; ENOENT means
// there is none. Start at 0.
func ProgGetNextID(start uint32) (uint32, error) { return getNextID(uapi.CmdProgGetNextID, start) }

// MapGetNextID is ProgGetNextID for maps.
func MapGetNextID(start uint32) (uint32, error) { return getNextID(uapi.CmdMapGetNextID, start) }

// BTFGetNextID is ProgGetNextID for BTF objects.
func BTFGetNextID(start uint32) (uint32, error) { return getNextID(uapi.CmdBTFGetNextID, start) }

// LinkGetNextID is ProgGetNextID for links.
func LinkGetNextID(start uint32) (uint32, error) { return getNextID(uapi.CmdLinkGetNextID, start) }

// ProgGetFDByID returns a new fd for the program with the given ID.
func ProgGetFDByID(id uint32) (int, error) { return getFDByID(uapi.CmdProgGetFDByID, id) }

// MapGetFDByID returns a new fd for the map with the given ID.
func MapGetFDByID(id uint32) (int, error) { return getFDByID(uapi.CmdMapGetFDByID, id) }

// BTFGetFDByID returns a new fd for the BTF object with the given ID.
func BTFGetFDByID(id uint32) (int, error) { return getFDByID(uapi.CmdBTFGetFDByID, id) }

// LinkGetFDByID returns a new fd for the link with the given ID.
func LinkGetFDByID(id uint32) (int, error) { return getFDByID(uapi.CmdLinkGetFDByID, id) }
