package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/syscall"
)

// ErrBTFKindUnsupported is returned when the kernel's BTF loader refuses a
// kind of type or a feature of BTF that an object may need.
var ErrBTFKindUnsupported = errors.New("refused by the kernel's BTF loader")

// btfFeature is a kind or feature of BTF an object's BTF may hold. Asking
// the kernel beats going by version: distributions backport BTF kinds into
// older kernels.
type btfFeature int

// The first four cannot be rewritten into something older kernels accept,
// the others can, by btf.MarshalOptions.
const (
	featBTF btfFeature = iota
	featFunc
	featDatasec
	featFloat
	featFuncLinkage
	featDeclTag
	featTypeTag
	featEnum64
	numBTFFeatures
)

// btfProbe is a tiny BTF blob holding one type of the kind in question.
type btfProbe struct {
	feature string // what is probed, for errors: "BTF_KIND_FLOAT"
	since   string // the upstream version that added it
	typ     func() btf.Type
}

func probeInt() btf.Type { return &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed} }

var btfProbes = [numBTFFeatures]btfProbe{
	featBTF: {"BTF", "4.18", probeInt},
	featFunc: {"BTF_KIND_FUNC", "5.0", func() btf.Type {
		return &btf.Func{Name: "a", Type: &btf.FuncProto{Return: (*btf.Void)(nil)}, Linkage: btf.StaticFunc}
	}},
	featDatasec: {"BTF_KIND_DATASEC", "5.2", func() btf.Type {
		v := &btf.Var{Name: "a", Type: probeInt(), Linkage: btf.GlobalVar}
		return &btf.Datasec{Name: ".data", Size: 4, Vars: []btf.VarSecinfo{{Type: v, Offset: 0, Size: 4}}}
	}},
	featFloat: {"BTF_KIND_FLOAT", "5.13", func() btf.Type {
		return &btf.Float{Name: "float", Size: 4}
	}},
	featFuncLinkage: {"BTF_KIND_FUNC with global linkage", "5.6", func() btf.Type {
		return &btf.Func{Name: "a", Type: &btf.FuncProto{Return: (*btf.Void)(nil)}, Linkage: btf.GlobalFunc}
	}},
	featDeclTag: {"BTF_KIND_DECL_TAG", "5.16", func() btf.Type {
		return &btf.Typedef{Name: "a", Type: probeInt(), Tags: []string{"a"}}
	}},
	featTypeTag: {"BTF_KIND_TYPE_TAG", "5.17", func() btf.Type {
		return &btf.Pointer{Target: &btf.TypeTag{Type: probeInt(), Value: "a"}}
	}},
	featEnum64: {"BTF_KIND_ENUM64", "6.0", func() btf.Type {
		return &btf.Enum{Name: "a", Size: 8, Values: []btf.EnumValue{{Name: "A", Value: math.MaxUint32 + 1}}}
	}},
}

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
		return fmt.Errorf("%s (Linux %s): %w", feature, since, ErrBTFKindUnsupported)
	}
	return fmt.Errorf("probing %s: BTF_LOAD: %w", feature, err)
}

// probeBTF returns nil when the kernel loads BTF holding f, an error
// wrapping ErrBTFKindUnsupported when it refuses it, and any other error
// when it could not be asked. Only the first two are kept: the kernel will
// not change its mind, while EPERM or EMFILE may pass. A kernel that
// loads every probe's type at once (acceptsAllBTF) is asked nothing more.
func (e *Env) probeBTF(f btfFeature) error {
	if e.acceptsAllBTF() {
		return nil
	}
	return e.keepAnswer(&e.btfProbes[f], btfProbes[f].run)
}

// keepAnswer runs probe once its answer is kept in o: nil or a refusal,
// not a failure to ask.
func (e *Env) keepAnswer(o *once[error], probe func() error) error {
	refused, err := o.get(func() (error, error) {
		err := probe()
		if err == nil || errors.Is(err, ErrBTFKindUnsupported) {
			return err, nil
		}
		return nil, err
	})
	if err != nil {
		return err
	}
	return refused
}

// acceptsAllBTF reports whether the kernel loads one blob holding every
// probe's type: one BTF_LOAD where a current kernel would otherwise take
// eight in every process that loads an object. If it refuses that blob,
// or could not be asked, each feature is probed on its own.
func (e *Env) acceptsAllBTF() bool {
	return e.keepAnswer(&e.allBTF, probeEveryBTFKind) == nil
}

// probeEveryBTFKind loads every probe's type in one blob; tests replace
// it to play a kernel that refuses one of them.
var probeEveryBTFKind = func() error {
	types := make([]btf.Type, 0, numBTFFeatures)
	for f := range numBTFFeatures {
		types = append(types, btfProbes[f].typ())
	}
	b, err := btf.NewBuilder(types, nil)
	if err != nil {
		return fmt.Errorf("probing every BTF kind: %w", err)
	}
	blob, err := b.Marshal(nil, nil)
	if err != nil {
		return fmt.Errorf("probing every BTF kind: %w", err)
	}
	return loadBTFProbe("every BTF kind", "6.0", blob)
}

// refusesBTF reports whether the kernel refuses f. A probe that could not
// ask (EPERM) counts as accepted: the object's own BTF load then fails
// with the real reason.
func (e *Env) refusesBTF(f btfFeature) bool {
	return errors.Is(e.probeBTF(f), ErrBTFKindUnsupported)
}

// BTFMarshalOptions says how to marshal an object's BTF so that the
// running kernel accepts it: in native byte order, with what this kernel
// refuses rewritten into what it accepts. Each call returns a new copy.
func (e *Env) BTFMarshalOptions() *btf.MarshalOptions {
	return &btf.MarshalOptions{
		Order:            binary.NativeEndian,
		StripFuncLinkage: e.refusesBTF(featFuncLinkage),
		ReplaceDeclTags:  e.refusesBTF(featDeclTag),
		ReplaceTypeTags:  e.refusesBTF(featTypeTag),
		ReplaceEnum64:    e.refusesBTF(featEnum64),
		// Every kernel refuses BTF with strings but no types.
		PreventNoTypeFound: true,
	}
}

// CheckBTFSupport returns an error naming the first kind of BTF that the
// kernel lacks and that BTFMarshalOptions cannot rewrite: BTF itself,
// FUNC (func_info), DATASEC (global data) and FLOAT. nil when all load.
//
// FLOAT is only needed by objects whose BTF holds a float; a caller that
// knows it has none may ignore an error about it.
func (e *Env) CheckBTFSupport() error {
	for _, f := range []btfFeature{featBTF, featFunc, featDatasec, featFloat} {
		if err := e.probeBTF(f); err != nil {
			return err
		}
	}
	return nil
}

// ProgBindMapKnown reports whether the kernel has BPF_PROG_BIND_MAP, if
// that is known yet: from BindMap.
func (e *Env) ProgBindMapKnown() (have, known bool) { return e.progBindMap.peek() }

// BindMap binds mapFD to the program at progFD with BPF_PROG_BIND_MAP
// (Linux 5.8), as libbpf binds .rodata, and does nothing on a kernel
// without the command. A process's first bind is also its probe for the
// command, which then costs no program and map of its own: a kernel
// without it says EINVAL, as to any command it does not know (the flags
// are 0 and both fds are what they must be).
func (e *Env) BindMap(progFD, mapFD int) error {
	have, known := e.progBindMap.peek()
	if known && !have {
		return nil
	}
	err := syscall.ProgBindMap(progFD, mapFD, 0)
	switch {
	case err == nil:
		e.progBindMap.get(func() (bool, error) { return true, nil })
	case !known && errors.Is(err, unix.EINVAL):
		e.progBindMap.get(func() (bool, error) { return false, nil })
		return nil
	}
	return err
}
