package syscall

import (
	"runtime"
	"unsafe"

	"github.com/rawload/rawload/internal/uapi"
)

// MapCreateAttr is the BPF_MAP_CREATE member of union bpf_attr.
type MapCreateAttr struct {
	MapType               uint32
	KeySize               uint32
	ValueSize             uint32
	MaxEntries            uint32
	MapFlags              uint32
	InnerMapFD            uint32
	NumaNode              uint32
	MapName               [uapi.ObjNameLen]byte
	MapIfindex            uint32
	BTFFD                 uint32
	BTFKeyTypeID          uint32
	BTFValueTypeID        uint32
	BTFVmlinuxValueTypeID uint32
	MapExtra              uint64
	ValueTypeBTFObjFD     int32
	MapTokenFD            int32
	ExclProgHash          uint64 // pointer to a SHA-256 of the only program allowed to use the map
	ExclProgHashSize      uint32
	_                     uint32
}

// MapCreate creates a map and returns its fd.
func MapCreate(attr *MapCreateAttr) (int, error) {
	return bpf(uapi.CmdMapCreate, unsafe.Pointer(attr), unsafe.Sizeof(*attr))
}

// mapElemAttr is the member of union bpf_attr shared by the element
// commands and BPF_MAP_FREEZE. Value doubles as next_key.
type mapElemAttr struct {
	MapFD uint32
	_     uint32
	Key   uint64
	Value uint64
	Flags uint64
}

func mapElem(cmd, fd int, key, value []byte, flags uint64) error {
	attr := mapElemAttr{
		MapFD: uint32(fd),
		Key:   sliceAddr(key),
		Value: sliceAddr(value),
		Flags: flags,
	}
	_, err := bpf(cmd, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(key)
	runtime.KeepAlive(value)
	return err
}

// MapLookupElem copies the value stored under key into value, which must
// hold the map's value size (times the number of possible CPUs, each
// rounded up to 8 bytes, for per-CPU maps). A nil key peeks at a queue or
// stack. ENOENT means no such element.
func MapLookupElem(fd int, key, value []byte) error {
	return mapElem(uapi.CmdMapLookupElem, fd, key, value, 0)
}

// MapUpdateElem stores value under key. flags is UpdateAny, UpdateNoExist or
// UpdateExist, optionally with FlagLock.
func MapUpdateElem(fd int, key, value []byte, flags uint64) error {
	return mapElem(uapi.CmdMapUpdateElem, fd, key, value, flags)
}

// MapDeleteElem deletes the element stored under key.
func MapDeleteElem(fd int, key []byte) error {
	return mapElem(uapi.CmdMapDeleteElem, fd, key, nil, 0)
}

// MapLookupAndDeleteElem copies the value stored under key into value and
// deletes the element; with a nil key it pops a queue or stack.
func MapLookupAndDeleteElem(fd int, key, value []byte) error {
	return mapElem(uapi.CmdMapLookupAndDeleteElem, fd, key, value, 0)
}

// MapGetNextKey writes the key following key into nextKey. A nil key asks
// for the first key; ENOENT means key was the last.
func MapGetNextKey(fd int, key, nextKey []byte) error {
	return mapElem(uapi.CmdMapGetNextKey, fd, key, nextKey, 0)
}

// MapFreeze makes the map read-only for user space; programs may still
// write to it unless it was created with FlagRdOnlyProg.
func MapFreeze(fd int) error {
	return mapElem(uapi.CmdMapFreeze, fd, nil, nil, 0)
}
