package syscall

import (
	"runtime"
	"unsafe"

	"github.com/rawload/rawload/internal/uapi"
)

// mapBatchAttr is the member of union bpf_attr used by the BPF_MAP_*_BATCH
// commands.
type mapBatchAttr struct {
	InBatch   uint64
	OutBatch  uint64
	Keys      uint64
	Values    uint64
	Count     uint32
	MapFD     uint32
	ElemFlags uint64
	Flags     uint64
}

// MapBatch describes one batch command: Keys and Values hold Count
// elements back to back; InBatch and OutBatch are the kernel's opaque
// cursor (key-sized, nil InBatch to start), for lookups only.
type MapBatch struct {
	FD                int
	InBatch, OutBatch []byte
	Keys, Values      []byte
	Count             uint32
	ElemFlags         uint64
}

func mapBatch(cmd int, b *MapBatch) (uint32, error) {
	attr := mapBatchAttr{
		InBatch:   sliceAddr(b.InBatch),
		OutBatch:  sliceAddr(b.OutBatch),
		Keys:      sliceAddr(b.Keys),
		Values:    sliceAddr(b.Values),
		Count:     b.Count,
		MapFD:     uint32(b.FD),
		ElemFlags: b.ElemFlags,
	}
	_, err := bpf(cmd, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(b)
	return attr.Count, err
}

// MapLookupBatch copies up to Count elements from the cursor InBatch on
// and writes the cursor to continue from into OutBatch. It returns how
// many elements it copied; ENOENT with a count means the map ended.
func MapLookupBatch(b *MapBatch) (uint32, error) { return mapBatch(uapi.CmdMapLookupBatch, b) }

// MapLookupAndDeleteBatch is MapLookupBatch that deletes what it copies.
func MapLookupAndDeleteBatch(b *MapBatch) (uint32, error) {
	return mapBatch(uapi.CmdMapLookupAndDeleteBatch, b)
}

// MapUpdateBatch stores Count elements; it returns how many it stored
// before an error.
func MapUpdateBatch(b *MapBatch) (uint32, error) { return mapBatch(uapi.CmdMapUpdateBatch, b) }

// MapDeleteBatch deletes the elements of Count keys; it returns how many
// it deleted before an error.
func MapDeleteBatch(b *MapBatch) (uint32, error) { return mapBatch(uapi.CmdMapDeleteBatch, b) }
