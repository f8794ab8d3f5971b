package syscall

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
)

// intBTF builds raw BTF holding one type: a signed integer "int" of size
// bytes and bits bits. bits larger than 8*size makes it malformed.
func intBTF(size, bits uint32) []byte {
	const (
		kindInt   = 1
		intSigned = 1
	)
	strtab := []byte("\x00int\x00")
	var types []byte
	types = binary.NativeEndian.AppendUint32(types, 1)           // name_off: "int"
	types = binary.NativeEndian.AppendUint32(types, kindInt<<24) // info: kind, no vlen
	types = binary.NativeEndian.AppendUint32(types, size)
	types = binary.NativeEndian.AppendUint32(types, intSigned<<24|bits)

	var b []byte
	b = binary.NativeEndian.AppendUint16(b, 0xeb9f) // magic
	b = append(b, 1, 0)                             // version, flags
	b = binary.NativeEndian.AppendUint32(b, 24)     // hdr_len
	b = binary.NativeEndian.AppendUint32(b, 0)      // type_off
	b = binary.NativeEndian.AppendUint32(b, uint32(len(types)))
	b = binary.NativeEndian.AppendUint32(b, uint32(len(types))) // str_off
	b = binary.NativeEndian.AppendUint32(b, uint32(len(strtab)))
	b = append(b, types...)
	return append(b, strtab...)
}

func TestBTFLoad(t *testing.T) {
	kernelTest(t)
	blob := intBTF(4, 32)
	fd, log, err := BTFLoad(blob, 0)
	if err != nil {
		t.Fatalf("load: %v\n%s", err, log)
	}
	closeOnCleanup(t, fd)
	if log != "" {
		t.Errorf("log without a log level: %q", log)
	}

	info, err := BTFInfoByFD(fd)
	if err != nil {
		t.Fatal("info:", err)
	}
	if info.ID == 0 || info.KernelBTF || info.BTFSize != uint32(len(blob)) || info.Name != "" {
		t.Errorf("info %+v, want an ID, user BTF of %d bytes, no name", info, len(blob))
	}

	fd2 := closeOnCleanup(t, mustFD(t)(BTFGetFDByID(info.ID)))
	if info2, err := BTFInfoByFD(fd2); err != nil || info2.ID != info.ID {
		t.Errorf("BTFGetFDByID(%d): %+v, %v", info.ID, info2, err)
	}

	fd3, log, err := BTFLoad(blob, uapi.LogLevel1)
	if err != nil {
		t.Fatal("load with a log:", err)
	}
	closeOnCleanup(t, fd3)
	if log == "" {
		t.Error("no log at level 1")
	}
}

func TestBTFLoadMalformed(t *testing.T) {
	kernelTest(t)
	fd, log, err := BTFLoad(intBTF(4, 64), 0)
	if err == nil {
		unix.Close(fd)
		t.Fatal("a 64-bit int of 4 bytes loaded")
	}
	if !errors.Is(err, unix.EINVAL) || fd != -1 {
		t.Errorf("fd %d, error %v; want -1, EINVAL", fd, err)
	}
	if !strings.Contains(log, "nr_bits") {
		t.Errorf("log lacks the reason:\n%s", log)
	}
}

func TestKernelBTFInfo(t *testing.T) {
	kernelTest(t)
	for id := uint32(0); ; {
		var err error
		id, err = BTFGetNextID(id)
		if errors.Is(err, unix.ENOENT) {
			t.Skip("no vmlinux BTF in this kernel")
		}
		if err != nil {
			t.Fatal("next id:", err)
		}
		fd, err := BTFGetFDByID(id)
		if errors.Is(err, unix.ENOENT) {
			continue // unloaded meanwhile
		}
		if err != nil {
			t.Fatal(err)
		}
		info, err := BTFInfoByFD(fd)
		unix.Close(fd)
		if err != nil {
			t.Fatal(err)
		}
		if info.Name == "vmlinux" {
			if !info.KernelBTF || info.BTFSize == 0 || info.ID != id {
				t.Errorf("vmlinux: %+v", info)
			}
			return
		}
	}
}
