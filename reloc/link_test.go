package reloc

import (
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rawload/rawload/internal/uapi"
)

func link(t *testing.T, path string) *Object {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := Link(data, nil)
	if err != nil {
		t.Fatalf("Link(%s): %v", path, err)
	}
	return obj
}

func mapNames(obj *Object, p *Program) []string {
	var names []string
	for _, i := range p.Maps {
		names = append(names, obj.Maps[i].Name)
	}
	slices.Sort(names)
	return names
}

// TestLoaderObject checks linking of testdata/loader.o in both byte
// orders against the facts in testdata/README.md.
func TestLoaderObject(t *testing.T) {
	for _, name := range []string{"loader.o", "loader-eb.o"} {
		t.Run(name, func(t *testing.T) {
			obj := link(t, filepath.Join("..", "testdata", name))
			if obj.License != "GPL" {
				t.Errorf("license %q", obj.License)
			}
			want := map[string]struct {
				slots int
				maps  []string
			}{
				"prog_counter": {44, []string{".bss", ".data", "counts", "results"}},
				"prog_loop":    {52, []string{"counts", "results"}},
				"prog_maps":    {61, []string{".data.extra", ".rodata", "events", "percpu_hits", "recent", "results"}},
				"prog_string":  {66, []string{".bss", ".rodata.str1.1", "counts", "results"}},
			}
			if len(obj.Programs) != len(want) {
				t.Fatalf("%d programs, want %d", len(obj.Programs), len(want))
			}
			for _, p := range obj.Programs {
				w, ok := want[p.Name]
				if !ok {
					t.Fatalf("unexpected program %s", p.Name)
				}
				if p.Err != nil {
					t.Errorf("%s: %v", p.Name, p.Err)
				}
				if p.InsnCount() != w.slots {
					t.Errorf("%s: %d slots, want %d", p.Name, p.InsnCount(), w.slots)
				}
				if got := mapNames(obj, p); !slices.Equal(got, w.maps) {
					t.Errorf("%s: maps %v, want %v", p.Name, got, w.maps)
				}
				if p.Kind.Type != uapi.ProgTypeSocketFilter {
					t.Errorf("%s: type %d", p.Name, p.Kind.Type)
				}
				if len(p.FuncInfo) == 0 || len(p.LineInfo) == 0 {
					t.Errorf("%s: no func or line info", p.Name)
				}
			}
			maps := map[string][4]uint32{
				"counts":      {uapi.MapTypeHash, 4, 8, 64},
				"results":     {uapi.MapTypeArray, 4, 8, 8},
				"percpu_hits": {uapi.MapTypePerCPUArray, 4, 8, 1},
				"events":      {uapi.MapTypeRingBuf, 0, 0, 4096},
				"recent":      {uapi.MapTypeLRUHash, 4, 4, 16},
				".data":       {uapi.MapTypeArray, 4, 8, 1},
				".bss":        {uapi.MapTypeArray, 4, 16, 1},
			}
			for name, w := range maps {
				m := obj.Map(name)
				if m == nil {
					t.Fatalf("no map %s", name)
				}
				if got := [4]uint32{m.Type, m.KeySize, m.ValueSize, m.MaxEntries}; got != w {
					t.Errorf("map %s: %v, want %v", name, got, w)
				}
			}
			if m := obj.Map(".rodata"); !m.Freeze || m.Flags&uapi.FlagRdOnlyProg == 0 {
				t.Errorf(".rodata: freeze %v flags %#x", m.Freeze, m.Flags)
			}
			if got := obj.ByteOrder.Uint64(obj.Map(".data").Contents); got != 7 {
				t.Errorf(".data holds %d, want 7", got)
			}
		})
	}
}

// TestByteOrdersAgree links both byte orders of an object: the programs
// must be the same instructions, byte-swapped.
func TestByteOrdersAgree(t *testing.T) {
	for _, base := range []string{"loader", "legacy"} {
		el := link(t, filepath.Join("..", "testdata", base+".o"))
		eb := link(t, filepath.Join("..", "testdata", base+"-eb.o"))
		for i, p := range el.Programs {
			q := eb.Programs[i]
			if p.Name != q.Name || len(p.Insns) != len(q.Insns) || len(p.Sites) != len(q.Sites) {
				t.Fatalf("%s: %s differs between byte orders", base, p.Name)
			}
			for off := 0; off < len(p.Insns); off += 8 {
				a, b := p.Insns[off:off+8], q.Insns[off:off+8]
				if a[0] != b[0] || binary.LittleEndian.Uint32(a[4:]) != binary.BigEndian.Uint32(b[4:]) {
					t.Fatalf("%s: %s: instruction %d differs", base, p.Name, off/8)
				}
			}
		}
	}
}

// TestCallOffsets checks that after linking every pseudo call lands on the
// first instruction of a function placed in the program.
func TestCallOffsets(t *testing.T) {
	obj := link(t, filepath.Join("..", "testdata", "loader.o"))
	p := obj.Program("prog_loop")
	bo := obj.ByteOrder
	var calls, funcRefs int
	for off := 0; off < len(p.Insns); off += 8 {
		insn := p.Insns[off:]
		switch {
		case insn[0] == opCall && insn[1]>>4 == pseudoCall:
			calls++
			target := off/8 + int(int32(bo.Uint32(insn[4:]))) + 1
			if target <= off/8 || target >= p.InsnCount() {
				t.Errorf("call at %d goes to %d", off/8, target)
			}
		case insn[0] == opLoadImm64:
			if insn[1]>>4 == 4 { // BPF_PSEUDO_FUNC
				funcRefs++
			}
			off += 8
		}
	}
	if calls != 2 || funcRefs != 1 {
		t.Errorf("prog_loop has %d calls and %d callback references, want 2 and 1", calls, funcRefs)
	}
}

func TestKindOf(t *testing.T) {
	for _, tc := range []struct {
		section    string
		progType   uint32
		attachType uint32
		attachTo   string
	}{
		{"socket", uapi.ProgTypeSocketFilter, 0, ""},
		{"socket/2", uapi.ProgTypeSocketFilter, 0, "2"},
		{"xdp", uapi.ProgTypeXDP, uapi.AttachXDP, ""},
		{"xdp.frags", uapi.ProgTypeXDP, uapi.AttachXDP, ""},
		{"xdp/devmap", uapi.ProgTypeXDP, uapi.AttachXDPDevMap, ""},
		{"tc", uapi.ProgTypeSchedCLS, 0, ""},
		{"tcx/ingress", uapi.ProgTypeSchedCLS, uapi.AttachTCXIngress, ""},
		{"classifier", uapi.ProgTypeSchedCLS, 0, ""},
		{"raw_tp/sys_enter", uapi.ProgTypeRawTracepoint, 0, "sys_enter"},
		{"raw_tracepoint/sched_switch", uapi.ProgTypeRawTracepoint, 0, "sched_switch"},
		{"tp/syscalls/sys_enter_getpid", uapi.ProgTypeTracepoint, 0, "syscalls/sys_enter_getpid"},
		{"tracepoint/sched/sched_switch", uapi.ProgTypeTracepoint, 0, "sched/sched_switch"},
		{"kprobe/do_sys_open", uapi.ProgTypeKprobe, 0, "do_sys_open"},
		{"kretprobe/do_sys_open", uapi.ProgTypeKprobe, 0, "do_sys_open"},
		{"uprobe//bin/sh:main", uapi.ProgTypeKprobe, 0, "/bin/sh:main"},
		{"ksyscall/openat", uapi.ProgTypeKprobe, 0, "openat"},
		{"fentry/tcp_connect", uapi.ProgTypeTracing, uapi.AttachTraceFentry, "tcp_connect"},
		{"fexit/tcp_connect", uapi.ProgTypeTracing, uapi.AttachTraceFexit, "tcp_connect"},
		{"fmod_ret/x", uapi.ProgTypeTracing, uapi.AttachModifyReturn, "x"},
		{"lsm/file_open", uapi.ProgTypeLSM, uapi.AttachLSMMAC, "file_open"},
		{"tp_btf/sched_switch", uapi.ProgTypeTracing, uapi.AttachTraceRawTP, "sched_switch"},
		{"iter/task", uapi.ProgTypeTracing, uapi.AttachTraceIter, "task"},
		{"cgroup_skb/ingress", uapi.ProgTypeCgroupSKB, uapi.AttachCgroupInetIngress, ""},
		{"cgroup_skb/egress", uapi.ProgTypeCgroupSKB, uapi.AttachCgroupInetEgress, ""},
		{"cgroup/connect4", uapi.ProgTypeCgroupSockAddr, uapi.AttachCgroupInet4Connect, ""},
		{"cgroup/sock_create", uapi.ProgTypeCgroupSock, uapi.AttachCgroupInetSockCreate, ""},
		{"sockops", uapi.ProgTypeSockOps, uapi.AttachCgroupSockOps, ""},
		{"sk_msg", uapi.ProgTypeSKMsg, uapi.AttachSKMsgVerdict, ""},
		{"sk_skb/stream_parser", uapi.ProgTypeSKSKB, uapi.AttachSKSKBStreamParser, ""},
		{"perf_event", uapi.ProgTypePerfEvent, 0, ""},
		{"syscall", uapi.ProgTypeSyscall, 0, ""},
		{"struct_ops/test_1", uapi.ProgTypeStructOps, 0, "test_1"},
	} {
		kind, err := KindOf(tc.section)
		if err != nil {
			t.Errorf("%s: %v", tc.section, err)
			continue
		}
		if kind.Type != tc.progType || kind.ExpectedAttachType != tc.attachType || kind.AttachTo != tc.attachTo {
			t.Errorf("%s: got %+v", tc.section, kind)
		}
	}
	for _, bad := range []string{"static", "other", "xdpfoo", "socketx", ""} {
		if _, err := KindOf(bad); !errors.Is(err, ErrUnknownSection) {
			t.Errorf("%q: %v, want ErrUnknownSection", bad, err)
		}
	}
}

var ciliumDir = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/cilium/ebpf").Output()
	return strings.TrimSpace(string(out)), err
})

func peerObjects(t *testing.T) []string {
	dir, err := ciliumDir()
	if err != nil || dir == "" {
		t.Fatalf("locating cilium/ebpf: %v", err)
	}
	var files []string
	for _, pattern := range []string{"testdata/*-e[lb].elf", "btf/testdata/*-e[lb].elf"} {
		m, _ := filepath.Glob(filepath.Join(dir, pattern))
		files = append(files, m...)
	}
	if len(files) < 40 {
		t.Fatalf("only %d peer objects found in %s", len(files), dir)
	}
	return files
}

// TestPeerObjects links every cilium/ebpf test object: each either links,
// or fails naming what is wrong; programs that cannot load say why.
func TestPeerObjects(t *testing.T) {
	for _, path := range peerObjects(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := Link(data, nil)
		if err != nil {
			t.Logf("%s: %v", filepath.Base(path), err)
			continue
		}
		for _, p := range obj.Programs {
			if p.Err != nil && !errors.Is(p.Err, ErrUnsupported) && !errors.Is(p.Err, ErrUnknownSection) {
				t.Errorf("%s: %s: error names no missing feature: %v", filepath.Base(path), p.Name, p.Err)
			}
		}
	}
	// The objects the core loader must handle completely.
	for _, name := range []string{"subprog_reloc", "raw_tracepoint", "strings", "variables", "linked"} {
		for _, order := range []string{"el", "eb"} {
			dir, _ := ciliumDir()
			path := filepath.Join(dir, "testdata", name+"-"+order+".elf")
			if _, err := os.Stat(path); err != nil {
				continue
			}
			obj := link(t, path)
			for _, p := range obj.Programs {
				if p.Err != nil {
					t.Errorf("%s: %s: %v", filepath.Base(path), p.Name, p.Err)
				}
			}
		}
	}
}

// TestCorruptObjects mutates a real object byte by byte and truncates it:
// Link must return an error or an Object, never panic.
func TestCorruptObjects(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "loader.o"))
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(data); n += 1 + n/64 {
		if _, err := Link(data[:n], nil); err == nil {
			t.Fatalf("truncated to %d bytes: no error", n)
		}
	}
	buf := make([]byte, len(data))
	for i := 0; i < len(data); i += 1 + i/512 {
		for _, x := range []byte{0xff, 0x80, 0x01} {
			copy(buf, data)
			buf[i] ^= x
			Link(buf, nil)
		}
	}
	wrongMachine := slices.Clone(data)
	binary.LittleEndian.PutUint16(wrongMachine[18:], 62)
	if _, err := Link(wrongMachine, nil); err == nil || !strings.Contains(err.Error(), "EM_BPF") {
		t.Errorf("x86-64 object: %v", err)
	}
}
