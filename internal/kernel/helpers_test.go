package kernel

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/testutil"
)

// requireKernelBTF skips a test that reads the running kernel's BTF on a
// kernel without it, unless RAWLOAD_REQUIRE_KERNEL=1.
func requireKernelBTF(tb testing.TB) *btf.Spec {
	tb.Helper()
	spec, err := System().Vmlinux()
	if err == nil {
		return spec
	}
	if _, statErr := os.Stat(filepath.Join(DefaultBTFDir, "vmlinux")); errors.Is(statErr, fs.ErrNotExist) {
		testutil.SkipUnlessRequired(tb, "kernel without BTF (no /sys/kernel/btf/vmlinux): %v", err)
	}
	tb.Fatal(err)
	return nil
}

func ciliumTestdata(tb testing.TB, name string) string {
	tb.Helper()
	dir, err := testutil.CiliumDir()
	if err != nil {
		tb.Fatalf("locating github.com/cilium/ebpf: %v", err)
	}
	return filepath.Join(dir, name)
}

func writeFile(tb testing.TB, path string, data []byte) {
	tb.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// fakeBase is a stand-in vmlinux: raw BTF holding one int.
func fakeBase(tb testing.TB) []byte {
	tb.Helper()
	b, err := btf.NewBuilder([]btf.Type{&btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	blob, err := b.Marshal(nil, &btf.MarshalOptions{Order: binary.NativeEndian})
	if err != nil {
		tb.Fatal(err)
	}
	return blob
}

// fakeModule is split BTF on fakeBase declaring one static function,
// void fn(void), the way a module's /sys/kernel/btf file is laid out:
// type ids continue after the base's one type, string offsets after the
// base's strings. cilium/ebpf writes no split BTF, so it is built by hand.
func fakeModule(tb testing.TB, base []byte, fn string) []byte {
	tb.Helper()
	bo := binary.NativeEndian
	const (
		hdrLen        = 24
		kindFunc      = 12
		kindFuncProto = 13
		baseTypes     = 1
	)
	baseStrLen := bo.Uint32(base[20:])

	var types []byte
	// [baseTypes+1] FUNC_PROTO void (void)
	types = bo.AppendUint32(types, 0)
	types = bo.AppendUint32(types, kindFuncProto<<24)
	types = bo.AppendUint32(types, 0)
	// [baseTypes+2] FUNC fn, static, of that prototype
	types = bo.AppendUint32(types, baseStrLen)
	types = bo.AppendUint32(types, kindFunc<<24)
	types = bo.AppendUint32(types, baseTypes+1)
	strings := append([]byte(fn), 0)

	blob := bo.AppendUint16(nil, 0xeb9f)
	blob = append(blob, 1, 0) // version, flags
	blob = bo.AppendUint32(blob, hdrLen)
	blob = bo.AppendUint32(blob, 0)                  // type_off
	blob = bo.AppendUint32(blob, uint32(len(types))) // type_len
	blob = bo.AppendUint32(blob, uint32(len(types))) // str_off
	blob = bo.AppendUint32(blob, uint32(len(strings)))
	blob = append(blob, types...)
	return append(blob, strings...)
}

// fakeFDs is a ModuleFDs whose fds are /dev/null, opened for real so that
// Close has something to close, with the modules asked for recorded.
func fakeFDs(tb testing.TB) (*ModuleFDs, *[]string) {
	tb.Helper()
	var opened []string
	s := NewModuleFDs()
	s.open = func(module string) (int, error) {
		opened = append(opened, module)
		return unix.Open(os.DevNull, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	}
	tb.Cleanup(func() { s.Close() })
	return s, &opened
}
