package bpf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/syscall"
)

// errBTFKindUnsupported is returned when the kernel's BTF loader refuses a
// kind of type or a feature of BTF that an object may need.
var errBTFKindUnsupported = errors.New("refused by the kernel's BTF loader")

// btfProbe asks the kernel, once per process, whether it accepts a tiny
// BTF blob holding one type of the kind in question. Asking beats going by
// version: distributions backport BTF kinds into older kernels.
type btfProbe struct {
	feature string // what is probed, for errors: "BTF_KIND_FLOAT"
	since   string // the upstream version that added it
	typ     func() btf.Type
	result  func() error
}

func newBTFProbe(feature, since string, typ func() btf.Type) *btfProbe {
	p := &btfProbe{feature: feature, since: since, typ: typ}
	p.result = sync.OnceValue(p.run)
	return p
}

var probeInt = func() btf.Type { return &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed} }

// Kinds and features an object's BTF may hold. The first four cannot be
// rewritten into something older kernels accept, the others can, by
// btf.MarshalOptions.
var (
	probeBTF = newBTFProbe("BTF", "4.18", probeInt)

	probeFunc = newBTFProbe("BTF_KIND_FUNC", "5.0", func() btf.Type {
		return &btf.Func{Name: "a", Type: &btf.FuncProto{Return: (*btf.Void)(nil)}, Linkage: btf.StaticFunc}
	})

	probeDatasec = newBTFProbe("BTF_KIND_DATASEC", "5.2", func() btf.Type {
		v := &btf.Var{Name: "a", Type: probeInt(), Linkage: btf.GlobalVar}
		return &btf.Datasec{Name: ".data", Size: 4, Vars: []btf.VarSecinfo{{Type: v, Offset: 0, Size: 4}}}
	})

	probeFloat = newBTFProbe("BTF_KIND_FLOAT", "5.13", func() btf.Type {
		return &btf.Float{Name: "float", Size: 4}
	})

	probeFuncLinkage = newBTFProbe("BTF_KIND_FUNC with global linkage", "5.6", func() btf.Type {
		return &btf.Func{Name: "a", Type: &btf.FuncProto{Return: (*btf.Void)(nil)}, Linkage: btf.GlobalFunc}
	})

	probeDeclTag = newBTFProbe("BTF_KIND_DECL_TAG", "5.16", func() btf.Type {
		return &btf.Typedef{Name: "a", Type: probeInt(), Tags: []string{"a"}}
	})

	probeTypeTag = newBTFProbe("BTF_KIND_TYPE_TAG", "5.17", func() btf.Type {
		return &btf.Pointer{Target: &btf.TypeTag{Type: probeInt(), Value: "a"}}
	})

	probeEnum64 = newBTFProbe("BTF_KIND_ENUM64", "6.0", func() btf.Type {
		return &btf.Enum{Name: "a", Size: 8, Values: []btf.EnumValue{{Name: "A", Value: math.MaxUint32 + 1}}}
	})
)

// blob is the probe's type as raw BTF, marshalled with no sanitizing.
func (p *btfProbe) blob() ([]byte, error) {
	b, err := btf.NewBuilder([]btf.Type{p.typ()}, nil)
	if err != nil {
		return nil, err
	}
	return b.Marshal(nil, nil)
}

func (p *btfProbe) run() error {
	blob, err := p.blob()
	if err != nil {
		return fmt.Errorf("probing %s: %w", p.feature, err)
	}
	return loadBTFProbe(p.feature, p.since, blob)
}

// loadBTFProbe loads blob and unloads it again. The kernel says EINVAL to
// a kind or flag it does not know; any other error, EPERM above all, says
// nothing about BTF and is returned as it is.
func loadBTFProbe(feature, since string, blob []byte) error {
	fd, _, err := syscall.BTFLoad(blob, 0)
	if err == nil {
		unix.Close(fd)
		return nil
	}
	if errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("%s (Linux %s): %w", feature, since, errBTFKindUnsupported)
	}
	return fmt.Errorf("probing %s: BTF_LOAD: %w", feature, err)
}

// refusedBTF reports whether a probe showed the kernel refusing its kind.
// A probe that could not ask (EPERM) counts as accepted: the object's own
// BTF load then fails with the real reason.
func refusedBTF(p *btfProbe) bool {
	return errors.Is(p.result(), errBTFKindUnsupported)
}

// btfMarshalOptions says how to marshal an object's BTF so that the
// running kernel accepts it: in native byte order, with what this kernel
// refuses rewritten into what it accepts. Each call returns a new copy.
func btfMarshalOptions() *btf.MarshalOptions {
	return &btf.MarshalOptions{
		Order:            binary.NativeEndian,
		StripFuncLinkage: refusedBTF(probeFuncLinkage),
		ReplaceDeclTags:  refusedBTF(probeDeclTag),
		ReplaceTypeTags:  refusedBTF(probeTypeTag),
		ReplaceEnum64:    refusedBTF(probeEnum64),
		// Every kernel refuses BTF with strings but no types.
		PreventNoTypeFound: true,
	}
}

// probeBTFSupport returns an error naming the first kind of BTF that the
// kernel lacks and that btfMarshalOptions cannot rewrite: BTF itself,
// FUNC (func_info), DATASEC (global data) and FLOAT. nil when all load.
//
// FLOAT is only needed by objects whose BTF holds a float; a caller that
// knows it has none may ignore an error about it.
func probeBTFSupport() error {
	for _, p := range []*btfProbe{probeBTF, probeFunc, probeDatasec, probeFloat} {
		if err := p.result(); err != nil {
			return err
		}
	}
	return nil
}

var haveProgBindMapOnce = sync.OnceValue(func() bool { return probeProgBindMap() == nil })

// haveProgBindMap reports whether the kernel has BPF_PROG_BIND_MAP
// (Linux 5.8), which ties a map to a program that never names it.
func haveProgBindMap() bool {
	return haveProgBindMapOnce()
}

// returnZero is "r0 = 0; exit". Its register fields are zero, so the
// bytes are the same in either byte order.
var returnZero = []byte{
	0xb7, 0, 0, 0, 0, 0, 0, 0, // BPF_ALU64 | BPF_MOV | BPF_K
	0x95, 0, 0, 0, 0, 0, 0, 0, // BPF_JMP | BPF_EXIT
}

// probeProgBindMap binds a one-entry array to a trivial socket filter.
func probeProgBindMap() error {
	res, err := syscall.ProgLoad(&syscall.ProgLoadOptions{
		Type:    uapi.ProgTypeSocketFilter,
		Name:    "probe_bind_map",
		Insns:   returnZero,
		License: "GPL",
	})
	if err != nil {
		return fmt.Errorf("probing BPF_PROG_BIND_MAP: loading a socket filter: %w", err)
	}
	defer unix.Close(res.FD)

	mapFD, err := syscall.MapCreate(&syscall.MapCreateAttr{
		MapType:    uapi.MapTypeArray,
		KeySize:    4,
		ValueSize:  4,
		MaxEntries: 1,
	})
	if err != nil {
		return fmt.Errorf("probing BPF_PROG_BIND_MAP: creating an array: %w", err)
	}
	defer unix.Close(mapFD)

	if err := syscall.ProgBindMap(res.FD, mapFD, 0); err != nil {
		return fmt.Errorf("BPF_PROG_BIND_MAP: %w", err)
	}
	return nil
}
