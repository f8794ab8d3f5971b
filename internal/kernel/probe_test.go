package kernel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/testutil"
	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/syscall"
)

// Every probe's blob holds the kind it is named for, and this 6.18 kernel
// loads each one.
func TestBTFProbeBlobs(t *testing.T) {
	testutil.KernelTest(t)
	env := New(Paths{})

	holds := [numBTFFeatures]func(btf.Type) bool{
		featBTF:         func(typ btf.Type) bool { _, ok := typ.(*btf.Int); return ok },
		featFunc:        func(typ btf.Type) bool { f, ok := typ.(*btf.Func); return ok && f.Linkage == btf.StaticFunc },
		featDatasec:     func(typ btf.Type) bool { ds, ok := typ.(*btf.Datasec); return ok && len(ds.Vars) == 1 },
		featFloat:       func(typ btf.Type) bool { _, ok := typ.(*btf.Float); return ok },
		featFuncLinkage: func(typ btf.Type) bool { f, ok := typ.(*btf.Func); return ok && f.Linkage == btf.GlobalFunc },
		featDeclTag:     func(typ btf.Type) bool { td, ok := typ.(*btf.Typedef); return ok && len(td.Tags) == 1 },
		featTypeTag:     func(typ btf.Type) bool { _, ok := typ.(*btf.TypeTag); return ok },
		featEnum64:      func(typ btf.Type) bool { e, ok := typ.(*btf.Enum); return ok && e.Size == 8 },
	}
	for f := range numBTFFeatures {
		probe := &btfProbes[f]
		t.Run(probe.feature, func(t *testing.T) {
			blob, err := probe.blob()
			if err != nil {
				t.Fatal(err)
			}
			spec, err := btf.LoadSpecFromReader(bytes.NewReader(blob))
			if err != nil {
				t.Fatal(err)
			}
			var held bool
			for typ, err := range spec.All() {
				if err != nil {
					t.Fatal(err)
				}
				held = held || holds[f](typ)
			}
			if !held {
				t.Fatalf("blob does not hold a %s", probe.feature)
			}

			if err := loadBTFProbe(probe.feature, probe.since, blob); err != nil {
				t.Errorf("kernel refused the blob: %v", err)
			}
			if err := env.probeBTF(f); err != nil {
				t.Errorf("cached result: %v", err)
			}
		})
	}
}

// A kind the kernel does not know is reported as refused, not as a failure
// to probe.
func TestBTFProbeRefused(t *testing.T) {
	testutil.KernelTest(t)

	blob, err := btfProbes[featBTF].blob()
	if err != nil {
		t.Fatal(err)
	}
	// The one type's info word follows the 24-byte header and name_off;
	// kind 31 is beyond any kernel's BTF_KIND_MAX.
	const infoOff = 24 + 4
	info := binary.NativeEndian.Uint32(blob[infoOff:])
	binary.NativeEndian.PutUint32(blob[infoOff:], info|0x1f<<24)

	err = loadBTFProbe("kind 31", "never", blob)
	if !errors.Is(err, ErrBTFKindUnsupported) {
		t.Fatalf("got %v, want ErrBTFKindUnsupported", err)
	}
	if want := "kind 31 (Linux never): refused by the kernel's BTF loader"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

// A probe that could not ask the kernel (no fd for the BTF object) says
// so and is asked again; the answer the kernel then gives is kept.
func TestProbeEMFILENotCached(t *testing.T) {
	testutil.KernelTest(t)
	env := New(Paths{})

	restore := testutil.ExhaustFDs(t)
	errBTF := env.CheckBTFSupport()
	opts := env.BTFMarshalOptions()
	restore()

	if !errors.Is(errBTF, unix.EMFILE) || errors.Is(errBTF, ErrBTFKindUnsupported) {
		t.Errorf("CheckBTFSupport without a free fd: %v, want EMFILE", errBTF)
	}
	// Could not ask: assume accepted, and let the object's load say more.
	if want := (btf.MarshalOptions{Order: binary.NativeEndian, PreventNoTypeFound: true}); *opts != want {
		t.Errorf("marshal options without a free fd: %+v", *opts)
	}

	if err := env.CheckBTFSupport(); err != nil {
		t.Errorf("CheckBTFSupport with fds again: %v", err)
	}
	if refused, kept := env.allBTF.peek(); !kept || refused != nil {
		t.Errorf("the kernel's answer for every kind at once: %v, kept %v", refused, kept)
	}
}

// A kernel that loads every kind at once is asked once, whatever an
// Object then wants to know; one that refuses that blob is asked about
// each kind on its own, and what it answers decides.
func TestProbeAllBTFAtOnce(t *testing.T) {
	testutil.KernelTest(t)
	loads := func() int {
		n := 0
		syscall.SetFaultHook(func(cmd int) unix.Errno {
			if cmd == uapi.CmdBTFLoad {
				n++
			}
			return 0
		})
		defer syscall.SetFaultHook(nil)
		env := New(Paths{})
		opts := env.BTFMarshalOptions()
		if err := env.CheckBTFSupport(); err != nil {
			t.Fatalf("CheckBTFSupport: %v", err)
		}
		if want := (btf.MarshalOptions{Order: binary.NativeEndian, PreventNoTypeFound: true}); *opts != want {
			t.Errorf("marshal options: %+v", *opts)
		}
		return n
	}
	if n := loads(); n != 1 {
		t.Errorf("%d BTF_LOADs to learn every kind, want 1", n)
	}
	defer func(probe func() error) { probeEveryBTFKind = probe }(probeEveryBTFKind)
	probeEveryBTFKind = func() error { return fmt.Errorf("a kind: %w", ErrBTFKindUnsupported) }
	if n := loads(); n != int(numBTFFeatures) {
		t.Errorf("%d BTF_LOADs with every kind at once refused, want one per kind, %d", n, numBTFFeatures)
	}
}

func TestProbeMarshalOptions(t *testing.T) {
	testutil.RequireKernel(t)
	env := New(Paths{})

	want := btf.MarshalOptions{Order: binary.NativeEndian, PreventNoTypeFound: true}
	opts := env.BTFMarshalOptions()
	if *opts != want {
		t.Errorf("6.18 needs no rewriting: got %+v", *opts)
	}
	opts.ReplaceEnum64 = true
	if *env.BTFMarshalOptions() != want {
		t.Error("BTFMarshalOptions returned shared state")
	}
	if err := env.CheckBTFSupport(); err != nil {
		t.Errorf("CheckBTFSupport: %v", err)
	}
}

// One blob with every probed kind, marshalled with BTFMarshalOptions, is
// what an object's BTF looks like to the kernel; it must load.
func TestProbeMarshalOptionsLoad(t *testing.T) {
	testutil.KernelTest(t)

	var types []btf.Type
	for f := range numBTFFeatures {
		types = append(types, btfProbes[f].typ())
	}
	b, err := btf.NewBuilder(types, nil)
	if err != nil {
		t.Fatal(err)
	}
	blob, err := b.Marshal(nil, System().BTFMarshalOptions())
	if err != nil {
		t.Fatal(err)
	}
	fd, log, err := syscall.BTFLoad(blob, 0)
	if err != nil {
		t.Fatalf("BTF_LOAD: %v\n%s", err, log)
	}
	unix.Close(fd)
}

// The first BindMap of an Env is its probe for BPF_PROG_BIND_MAP: a bind
// that works says the kernel has it; EINVAL says it has not, and the maps
// then stay unbound without asking again; any other error is the
// caller's and decides nothing.
func TestBindMap(t *testing.T) {
	testutil.KernelTest(t)
	res, err := syscall.ProgLoad(&syscall.ProgLoadOptions{Type: uapi.ProgTypeSocketFilter, Insns: returnZero, License: "GPL"})
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(res.FD)
	mapFD, err := syscall.MapCreate(&syscall.MapCreateAttr{MapType: uapi.MapTypeArray, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(mapFD)
	binds := func(env *Env, inject unix.Errno) (int, error) {
		n := 0
		syscall.SetFaultHook(func(cmd int) unix.Errno {
			if cmd != uapi.CmdProgBindMap {
				return 0
			}
			n++
			return inject
		})
		defer syscall.SetFaultHook(nil)
		return n, env.BindMap(res.FD, mapFD)
	}

	env := New(Paths{})
	if _, err := binds(env, unix.EPERM); !errors.Is(err, unix.EPERM) {
		t.Fatalf("bind refused with EPERM: %v", err)
	}
	if _, known := env.ProgBindMapKnown(); known {
		t.Fatal("EPERM taken for an answer about the command")
	}
	if n, err := binds(env, 0); n != 1 || err != nil {
		t.Fatalf("bind: %d calls, %v", n, err)
	}
	info, err := syscall.ProgInfoWithMapsByFD(res.FD)
	if err != nil {
		t.Fatal(err)
	}
	mapInfo, err := syscall.MapInfoByFD(mapFD)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(info.MapIDs, mapInfo.ID) {
		t.Errorf("map %d not bound to the program: %v", mapInfo.ID, info.MapIDs)
	}
	if have, known := env.ProgBindMapKnown(); !have || !known {
		t.Errorf("after a bind that worked: have %v, known %v", have, known)
	}

	old := New(Paths{})
	if n, err := binds(old, unix.EINVAL); n != 1 || err != nil {
		t.Fatalf("first bind on a kernel without the command: %d calls, %v", n, err)
	}
	if have, known := old.ProgBindMapKnown(); have || !known {
		t.Errorf("after EINVAL: have %v, known %v", have, known)
	}
	if n, err := binds(old, unix.EINVAL); n != 0 || err != nil {
		t.Errorf("bind on a kernel known to lack the command: %d calls, %v", n, err)
	}
}

// returnZero is "r0 = 0; exit". Its register fields are zero, so the
// bytes are the same in either byte order.
var returnZero = []byte{
	0xb7, 0, 0, 0, 0, 0, 0, 0, // BPF_ALU64 | BPF_MOV | BPF_K
	0x95, 0, 0, 0, 0, 0, 0, 0, // BPF_JMP | BPF_EXIT
}
