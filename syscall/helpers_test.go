package syscall

import (
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/testutil"
	"github.com/rawload/rawload/internal/uapi"
)

func TestMain(m *testing.M) {
	// The runtime creates its poller's fds with the first file it polls.
	// Make that happen now, not inside a test that counts fds.
	if r, w, err := os.Pipe(); err == nil {
		r.Close()
		w.Close()
	}
	os.Exit(m.Run())
}

// kernelTest skips t where bpf(2) is not permitted, unless
// RAWLOAD_REQUIRE_KERNEL=1 demands that it run, and fails t if the test
// leaves more or fewer fds open than it found.
func kernelTest(t *testing.T) {
	t.Helper()
	testutil.KernelTest(t)
}

func closeOnCleanup(t *testing.T, fd int) int {
	t.Helper()
	t.Cleanup(func() {
		if err := unix.Close(fd); err != nil {
			t.Errorf("close %d: %v", fd, err)
		}
	})
	return fd
}

func createMap(t *testing.T, attr *MapCreateAttr) int {
	t.Helper()
	fd, err := MapCreate(attr)
	if err != nil {
		t.Fatalf("create map: %v", err)
	}
	return closeOnCleanup(t, fd)
}

func loadProg(t *testing.T, o *ProgLoadOptions) (int, ProgLoadResult) {
	t.Helper()
	res, err := ProgLoad(o)
	if err != nil {
		t.Fatalf("load %s: %v\n%s", o.Name, err, res.Log)
	}
	return closeOnCleanup(t, res.FD), res
}

// insn is one BPF instruction, as the tests hand-assemble them.
type insn struct {
	code     uint8
	dst, src uint8
	off      int16
	imm      int32
}

func movImm(dst uint8, imm int32) insn { return insn{code: 0xb7, dst: dst, imm: imm} } // BPF_ALU64|BPF_MOV|BPF_K
func addImm(dst uint8, imm int32) insn { return insn{code: 0x07, dst: dst, imm: imm} } // BPF_ALU64|BPF_ADD|BPF_K
func exit() insn                       { return insn{code: 0x95} }                     // BPF_JMP|BPF_EXIT

// ldMapFD is the two-slot load-imm64 of a map's address by fd.
func ldMapFD(dst uint8, fd int) []insn {
	return []insn{{code: 0x18, dst: dst, src: uapi.PseudoMapFD, imm: int32(fd)}, {}} // BPF_LD|BPF_DW|BPF_IMM
}

// asm encodes instructions in native byte order. The register nibbles are
// a C bitfield, whose order follows the byte order.
func asm(insns ...insn) []byte {
	littleEndian := binary.NativeEndian.Uint16([]byte{1, 0}) == 1
	out := make([]byte, 0, 8*len(insns))
	for _, in := range insns {
		regs := in.dst | in.src<<4
		if !littleEndian {
			regs = in.dst<<4 | in.src
		}
		out = append(out, in.code, regs)
		out = binary.NativeEndian.AppendUint16(out, uint16(in.off))
		out = binary.NativeEndian.AppendUint32(out, uint32(in.imm))
	}
	return out
}

func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.NativeEndian.AppendUint64(nil, v) }

// requireIDListed walks an ID iterator (ProgGetNextID and the like) to
// its end and fails the test if id never comes up.
func requireIDListed(t *testing.T, next func(uint32) (uint32, error), id uint32) {
	t.Helper()
	for cur := uint32(0); ; {
		var err error
		cur, err = next(cur)
		if errors.Is(err, unix.ENOENT) {
			t.Errorf("ID %d never listed", id)
			return
		}
		if err != nil {
			t.Fatal("next id:", err)
		}
		if cur == id {
			return
		}
	}
}
