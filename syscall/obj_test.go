package syscall

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/testutil"
	"github.com/rawload/rawload/internal/uapi"
)

// bpffsDir is a fresh directory on a bpf file system.
func bpffsDir(t *testing.T) string { return testutil.BPFFSDir(t) }

func TestObjPinGet(t *testing.T) {
	kernelTest(t)
	dir := bpffsDir(t)
	fd := createMap(t, &MapCreateAttr{MapType: uapi.MapTypeArray, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	info, err := MapInfoByFD(fd)
	if err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(dir, "map")
	if err := ObjPin(fd, path); err != nil {
		t.Fatal("pin:", err)
	}
	if err := ObjPin(fd, path); !errors.Is(err, unix.EEXIST) {
		t.Errorf("pin over a pin: %v, want EEXIST", err)
	}

	got := closeOnCleanup(t, mustFD(t)(ObjGet(path, 0)))
	if info2, err := MapInfoByFD(got); err != nil || info2.ID != info.ID {
		t.Errorf("ObjGet opened %+v, %v; want map %d", info2, err, info.ID)
	}
	if err := MapUpdateElem(got, u32(0), u32(5), uapi.UpdateAny); err != nil {
		t.Errorf("update through the pinned map: %v", err)
	}

	ro := closeOnCleanup(t, mustFD(t)(ObjGet(path, uapi.FlagRdOnly)))
	if err := MapUpdateElem(ro, u32(0), u32(6), uapi.UpdateAny); !errors.Is(err, unix.EPERM) {
		t.Errorf("update through a read-only fd: %v, want EPERM", err)
	}
	value := make([]byte, 4)
	if err := MapLookupElem(ro, u32(0), value); err != nil || !bytes.Equal(value, u32(5)) {
		t.Errorf("lookup through a read-only fd: %x, %v", value, err)
	}

	if _, err := ObjGet(filepath.Join(dir, "missing"), 0); !errors.Is(err, unix.ENOENT) {
		t.Errorf("get a missing pin: %v, want ENOENT", err)
	}
}
