package bpf

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/kernel"
	"github.com/rawload/rawload/syscall"
)

// independentVmlinux is the running kernel's BTF parsed by the tests
// themselves, apart from rawload's process-wide cache, so expected values
// are not computed by the code under test.
var independentVmlinux = sync.OnceValues(func() (*btf.Spec, error) {
	return btf.LoadSpec("/sys/kernel/btf/vmlinux")
})

func vmlinuxForTest(t testing.TB) *btf.Spec {
	t.Helper()
	requireKernelBTF(t)
	spec, err := independentVmlinux()
	if err != nil {
		t.Fatalf("parsing /sys/kernel/btf/vmlinux: %v", err)
	}
	return spec
}

// vmlinuxType finds the type of kind T called name in the kernel's BTF,
// and its id.
func vmlinuxType[T btf.Type](t testing.TB, name string) (T, btf.TypeID) {
	t.Helper()
	spec := vmlinuxForTest(t)
	var typ T
	if err := spec.TypeByName(name, &typ); err != nil {
		t.Fatalf("kernel BTF: %T %s: %v", typ, name, err)
	}
	id, err := spec.TypeID(typ)
	if err != nil {
		t.Fatalf("kernel BTF: id of %s: %v", name, err)
	}
	return typ, id
}

// memberOf finds a member of a struct or union by name, looking inside
// anonymous members as C does, and returns it with its offset from the
// start of s.
func memberOf(s btf.Type, name string) (btf.Member, bool) {
	var members []btf.Member
	switch c := s.(type) {
	case *btf.Struct:
		members = c.Members
	case *btf.Union:
		members = c.Members
	}
	for _, m := range members {
		if m.Name == name {
			return m, true
		}
		if m.Name != "" {
			continue
		}
		if found, ok := memberOf(btf.UnderlyingType(m.Type), name); ok {
			found.Offset += m.Offset
			return found, true
		}
	}
	return btf.Member{}, false
}

// insn is one 8-byte instruction slot, decoded by hand so that the tests
// do not read instructions through rawload's own encoder.
type insn struct {
	op       uint8
	dst, src uint8
	off      int16
	imm      int32
	// imm64 is the 64-bit immediate of an ld_imm64 (this slot's imm and the
	// next slot's).
	imm64 uint64
}

const (
	opLdImm64 = 0x18 // BPF_LD | BPF_IMM | BPF_DW
	opCall    = 0x85 // BPF_JMP | BPF_CALL
)

func decodeInsns(t testing.TB, b []byte) []insn {
	t.Helper()
	if len(b)%8 != 0 {
		t.Fatalf("instructions of %d bytes, not a multiple of 8", len(b))
	}
	bo := binary.NativeEndian
	little := bo.Uint16([]byte{1, 0}) == 1
	insns := make([]insn, len(b)/8)
	for i := range insns {
		s := b[i*8:]
		in := insn{op: s[0], off: int16(bo.Uint16(s[2:])), imm: int32(bo.Uint32(s[4:]))}
		if little {
			in.dst, in.src = s[1]&0xf, s[1]>>4
		} else {
			in.dst, in.src = s[1]>>4, s[1]&0xf
		}
		insns[i] = in
	}
	for i := range insns {
		if insns[i].op == opLdImm64 && i+1 < len(insns) {
			insns[i].imm64 = uint64(uint32(insns[i].imm)) | uint64(uint32(insns[i+1].imm))<<32
		}
	}
	return insns
}

func writeVar(t *testing.T, obj *Object, name string, value []byte) {
	t.Helper()
	v, err := obj.Variable(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Write(value); err != nil {
		t.Fatal(err)
	}
}

func readVarBytes(t *testing.T, obj *Object, name string) []byte {
	t.Helper()
	v, err := obj.Variable(name)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, v.Size())
	if err := v.Read(buf); err != nil {
		t.Fatal(err)
	}
	return buf
}

// TestCORETracing attaches core.o's two task_struct readers, whose
// compiled offsets are all wrong for any kernel: only correctly relocated
// loads can report this process's own pid, parent and comm.
func TestCORETracing(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	_, sysEnterID := vmlinuxType[*btf.Typedef](t, "btf_trace_sys_enter")

	obj := mustOpen(t, testdata("core.o"), nil)
	writeVar(t, obj, "target_tgid", u32(uint32(os.Getpid())))
	before := map[string][]byte{}
	for _, p := range obj.Programs() {
		before[p.Name()] = p.Instructions()
	}
	must(t, obj.Load(context.Background()))
	for _, p := range obj.Programs() {
		if !bytes.Equal(p.Instructions(), before[p.Name()]) {
			t.Errorf("%s: instructions changed by Object.Load", p.Name())
		}
	}

	tpBTF := obj.Program("core_tp_btf")
	if got := tpBTF.AttachBTFID(); got != uint32(sysEnterID) {
		t.Errorf("core_tp_btf attach BTF id %d, kernel's btf_trace_sys_enter is %d", got, sysEnterID)
	}
	info, err := syscall.ProgInfoByFD(tpBTF.FD())
	must(t, err)
	if info.AttachBTFID != uint32(sysEnterID) {
		t.Errorf("kernel reports core_tp_btf attached to BTF id %d, want %d", info.AttachBTFID, sysEnterID)
	}

	// Both programs write the same seen_* slots: one at a time.
	for _, tc := range []struct{ prog, hits string }{
		{"core_tp_btf", "tp_btf_hits"},
		{"core_raw_tp", "raw_tp_hits"},
	} {
		t.Run(tc.prog, func(t *testing.T) {
			for _, name := range []string{"seen_pid", "seen_tgid", "seen_ppid_tgid"} {
				writeVar(t, obj, name, u32(0))
			}
			writeVar(t, obj, "seen_comm", make([]byte, 16))

			link := attach(t, obj.Program(tc.prog))
			for range 5 {
				unix.Getppid()
			}
			hits := readVarU64(t, obj, tc.hits)
			seenPID := int(readVarU64(t, obj, "seen_pid"))
			seenTGID := int(readVarU64(t, obj, "seen_tgid"))
			seenPPID := int(readVarU64(t, obj, "seen_ppid_tgid"))
			seenComm := readVarBytes(t, obj, "seen_comm")
			must(t, link.Close())

			if hits == 0 {
				t.Fatalf("%s = 0 after 5 syscalls with the program attached", tc.hits)
			}
			if seenTGID != os.Getpid() {
				t.Errorf("seen_tgid %d, want pid %d", seenTGID, os.Getpid())
			}
			if seenPPID != os.Getppid() {
				t.Errorf("seen_ppid_tgid %d, want ppid %d", seenPPID, os.Getppid())
			}
			comm, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/comm", seenPID))
			if err != nil {
				t.Fatalf("seen_pid %d is not a thread of this process: %v", seenPID, err)
			}
			want := strings.TrimSuffix(string(comm), "\n")
			if got, _, _ := bytes.Cut(seenComm, []byte{0}); string(got) != want {
				t.Errorf("seen_comm %q, thread %d is %q", seenComm, seenPID, want)
			}

			// Detached, the program must stop counting. Let syscalls that
			// entered before the close drain first.
			time.Sleep(10 * time.Millisecond)
			settled := readVarU64(t, obj, tc.hits)
			for range 5 {
				unix.Getppid()
			}
			if after := readVarU64(t, obj, tc.hits); after != settled {
				t.Errorf("%s went from %d to %d after the link was closed", tc.hits, settled, after)
			}
		})
	}
}

// TestCOREKinds checks each CO-RE relocation kind of core_kinds against
// the running kernel's BTF, read independently.
func TestCOREKinds(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	task, taskID := vmlinuxType[*btf.Struct](t, "task_struct")
	mapType, _ := vmlinuxType[*btf.Enum](t, "bpf_map_type")

	pid, ok := memberOf(task, "pid")
	if !ok {
		t.Fatal("kernel task_struct has no pid")
	}
	comm, ok := memberOf(task, "comm")
	if !ok {
		t.Fatal("kernel task_struct has no comm")
	}
	commSize, err := btf.Sizeof(comm.Type)
	must(t, err)
	taskSize, err := btf.Sizeof(task)
	must(t, err)
	ringbuf := uint64(1 << 63)
	for _, v := range mapType.Values {
		if v.Name == "BPF_MAP_TYPE_RINGBUF" {
			ringbuf = v.Value
		}
	}
	if ringbuf == 1<<63 {
		t.Fatal("kernel enum bpf_map_type has no BPF_MAP_TYPE_RINGBUF")
	}

	obj := mustOpen(t, testdata("core.o"), nil)
	prog := obj.Program("core_kinds")
	before := prog.Instructions()
	must(t, obj.Load(context.Background()))
	if !bytes.Equal(before, prog.Instructions()) {
		t.Error("core_kinds: instructions changed by Object.Load")
	}
	if got := testRun(t, prog); got != 0 {
		t.Fatalf("core_kinds returned %d, want 0", got)
	}

	// A local type id is an id in the BTF the program is loaded with,
	// which need not number types as the object file does: ask the kernel
	// for that BTF and check the id names the object's task_struct.
	localID := readVarU64(t, obj, "kind_task_local_id")
	if typ := programBTFType(t, prog, btf.TypeID(localID)); typ == nil || typ.TypeName() != "task_struct" {
		t.Errorf("kind_task_local_id %d is %v in the program's BTF, want struct task_struct", localID, typ)
	} else if _, ok := typ.(*btf.Struct); !ok {
		t.Errorf("kind_task_local_id %d is %v, want a struct", localID, typ)
	}

	for _, tc := range []struct {
		name string
		want uint64
	}{
		{"kind_pid_exists", 1},
		{"kind_missing_field_exists", 0},
		{"kind_comm_size", uint64(commSize)},
		{"kind_pid_offset", uint64(pid.Offset.Bytes())},
		{"kind_task_exists", 1},
		{"kind_missing_type_exists", 0},
		{"kind_task_size", uint64(taskSize)},
		{"kind_ringbuf_exists", 1},
		{"kind_ringbuf_value", ringbuf},
		{"kind_missing_enum_exists", 0},
		{"kind_task_target_id", uint64(taskID)},
	} {
		if got := readVarU64(t, obj, tc.name); got != tc.want {
			t.Errorf("%s = %d, kernel BTF says %d", tc.name, got, tc.want)
		}
	}
}

// programBTFType returns the type with that id in the BTF the kernel
// holds for a loaded program, nil if there is none.
func programBTFType(t *testing.T, p *Program, id btf.TypeID) btf.Type {
	t.Helper()
	info, err := syscall.ProgInfoByFD(p.FD())
	must(t, err)
	if info.BTFID == 0 {
		t.Fatalf("%s was loaded without BTF", p.Name())
	}
	fd, err := syscall.BTFGetFDByID(info.BTFID)
	must(t, err)
	defer unix.Close(fd)
	data, err := syscall.BTFDataByFD(fd)
	must(t, err)
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(data))
	must(t, err)
	typ, err := spec.TypeByID(id)
	if err != nil {
		return nil
	}
	return typ
}

func TestCOREBigEndianOpen(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{0, 1}) == 1 {
		t.Skip("big-endian host: core-eb.o is in the native byte order here")
	}
	checkNoLeak(t)
	obj, err := Open(testdata("core-eb.o"), nil)
	if err == nil {
		obj.Close()
		t.Fatal("opened a big-endian object on a little-endian host")
	}
	if !errors.Is(err, ErrByteOrder) {
		t.Fatalf("Open(core-eb.o): %v, want ErrByteOrder", err)
	}
}

// BenchmarkOpenCORE measures Open and Close of core.o, whose CO-RE
// relocations and attach target need the kernel's BTF. "first" is what a
// process pays while the kernel BTF cache is cold: each iteration opens
// with a fresh kernel environment, which parses vmlinux again. "next"
// uses the warm process-wide one.
func BenchmarkOpenCORE(b *testing.B) {
	requireKernelBTF(b)
	path := testdata("core.o")
	b.Run("first", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			obj, err := Open(path, &Options{env: kernel.New(kernel.Paths{})})
			if err != nil {
				b.Fatal(err)
			}
			obj.Close()
		}
	})
	b.Run("next", func(b *testing.B) {
		b.ReportAllocs()
		if _, err := kernelSpec(); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			obj, err := Open(path, nil)
			if err != nil {
				b.Fatal(err)
			}
			obj.Close()
		}
	})
}
