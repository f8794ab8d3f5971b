package syscall

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
)

func TestArrayMap(t *testing.T) {
	kernelTest(t)
	fd := createMap(t, &MapCreateAttr{
		MapType:    uapi.MapTypeArray,
		KeySize:    4,
		ValueSize:  8,
		MaxEntries: 4,
		MapName:    ObjName("rawload-test!"),
	})

	if err := MapUpdateElem(fd, u32(2), u64(0xdeadbeef), uapi.UpdateAny); err != nil {
		t.Fatal("update:", err)
	}
	got := make([]byte, 8)
	if err := MapLookupElem(fd, u32(2), got); err != nil {
		t.Fatal("lookup:", err)
	}
	if !bytes.Equal(got, u64(0xdeadbeef)) {
		t.Errorf("lookup: %x, want %x", got, u64(0xdeadbeef))
	}
	if err := MapLookupElem(fd, u32(4), got); !errors.Is(err, unix.ENOENT) {
		t.Errorf("lookup past max_entries: %v, want ENOENT", err)
	}
	// Array elements always exist.
	if err := MapUpdateElem(fd, u32(1), u64(1), uapi.UpdateNoExist); !errors.Is(err, unix.EEXIST) {
		t.Errorf("update with uapi.UpdateNoExist: %v, want EEXIST", err)
	}
	if err := MapDeleteElem(fd, u32(2)); !errors.Is(err, unix.EINVAL) {
		t.Errorf("delete from an array: %v, want EINVAL", err)
	}

	var keys []uint32
	var key []byte // nil: first key
	for {
		next := make([]byte, 4)
		err := MapGetNextKey(fd, key, next)
		if errors.Is(err, unix.ENOENT) {
			break
		}
		if err != nil {
			t.Fatal("next key:", err)
		}
		keys = append(keys, binary.NativeEndian.Uint32(next))
		key = next
	}
	if want := []uint32{0, 1, 2, 3}; !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}

	info, err := MapInfoByFD(fd)
	if err != nil {
		t.Fatal("info:", err)
	}
	if info.Type != uapi.MapTypeArray || info.KeySize != 4 || info.ValueSize != 8 || info.MaxEntries != 4 {
		t.Errorf("info: type %d key %d value %d entries %d, want %d 4 8 4",
			info.Type, info.KeySize, info.ValueSize, info.MaxEntries, uapi.MapTypeArray)
	}
	if info.Name != "rawloadtest" {
		t.Errorf("info: name %q, want %q", info.Name, "rawloadtest")
	}
	if info.ID == 0 {
		t.Error("info: ID 0")
	}

	if err := MapFreeze(fd); err != nil {
		t.Fatal("freeze:", err)
	}
	if err := MapUpdateElem(fd, u32(2), u64(1), uapi.UpdateAny); !errors.Is(err, unix.EPERM) {
		t.Errorf("update after freeze: %v, want EPERM", err)
	}
	if err := MapLookupElem(fd, u32(2), got); err != nil || !bytes.Equal(got, u64(0xdeadbeef)) {
		t.Errorf("lookup after freeze: %x, %v", got, err)
	}
}

func TestHashMapDelete(t *testing.T) {
	kernelTest(t)
	fd := createMap(t, &MapCreateAttr{MapType: uapi.MapTypeHash, KeySize: 4, ValueSize: 4, MaxEntries: 8, MapFlags: uapi.FlagNoPrealloc})

	if err := MapUpdateElem(fd, u32(7), u32(70), uapi.UpdateNoExist); err != nil {
		t.Fatal("update:", err)
	}
	if err := MapUpdateElem(fd, u32(7), u32(71), uapi.UpdateNoExist); !errors.Is(err, unix.EEXIST) {
		t.Errorf("second update with uapi.UpdateNoExist: %v, want EEXIST", err)
	}
	if err := MapDeleteElem(fd, u32(7)); err != nil {
		t.Fatal("delete:", err)
	}
	if err := MapLookupElem(fd, u32(7), make([]byte, 4)); !errors.Is(err, unix.ENOENT) {
		t.Errorf("lookup after delete: %v, want ENOENT", err)
	}
	if err := MapGetNextKey(fd, nil, make([]byte, 4)); !errors.Is(err, unix.ENOENT) {
		t.Errorf("first key of an empty map: %v, want ENOENT", err)
	}
}

func TestQueueLookupAndDelete(t *testing.T) {
	kernelTest(t)
	fd := createMap(t, &MapCreateAttr{MapType: uapi.MapTypeQueue, ValueSize: 4, MaxEntries: 4})

	for _, v := range []uint32{1, 2} {
		if err := MapUpdateElem(fd, nil, u32(v), uapi.UpdateAny); err != nil {
			t.Fatal("push:", err)
		}
	}
	got := make([]byte, 4)
	if err := MapLookupElem(fd, nil, got); err != nil || !bytes.Equal(got, u32(1)) {
		t.Errorf("peek: %x, %v; want %x", got, err, u32(1))
	}
	for _, want := range []uint32{1, 2} {
		if err := MapLookupAndDeleteElem(fd, nil, got); err != nil || !bytes.Equal(got, u32(want)) {
			t.Errorf("pop: %x, %v; want %x", got, err, u32(want))
		}
	}
	if err := MapLookupAndDeleteElem(fd, nil, got); !errors.Is(err, unix.ENOENT) {
		t.Errorf("pop from an empty queue: %v, want ENOENT", err)
	}
}

func TestMapGetByID(t *testing.T) {
	kernelTest(t)
	fd := createMap(t, &MapCreateAttr{MapType: uapi.MapTypeArray, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	info, err := MapInfoByFD(fd)
	if err != nil {
		t.Fatal(err)
	}

	requireIDListed(t, MapGetNextID, info.ID)

	fd2 := closeOnCleanup(t, mustFD(t)(MapGetFDByID(info.ID)))
	info2, err := MapInfoByFD(fd2)
	if err != nil {
		t.Fatal(err)
	}
	if info2.ID != info.ID {
		t.Errorf("MapGetFDByID(%d) opened map %d", info.ID, info2.ID)
	}
	if _, err := MapGetFDByID(0); !errors.Is(err, unix.ENOENT) {
		t.Errorf("MapGetFDByID(0): %v, want ENOENT", err)
	}
}

// mustFD fails t unless a call returning an fd succeeded.
func mustFD(t *testing.T) func(int, error) int {
	return func(fd int, err error) int {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return fd
	}
}
