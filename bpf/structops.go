package bpf

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/cilium/ebpf/btf"

	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/reloc"
	"github.com/rawload/rawload/syscall"
)

// kernelStructOps is the kernel's side of a struct_ops map: the struct
// the object's variable implements, and the bpf_struct_ops_<name> type
// wrapping it that is the map's value.
type kernelStructOps struct {
	ops     *btf.Struct
	opsID   btf.TypeID
	value   *btf.Struct
	valueID btf.TypeID
	btfFD   int // module BTF, 0 for vmlinux
	// dataOffset is where ops sits in value.
	dataOffset uint32
}

// structOpsValuePrefix names the wrapper type the kernel declares for
// every struct it accepts as struct_ops (BPF_STRUCT_OPS_TYPE).
const structOpsValuePrefix = "bpf_struct_ops_"

// findStructOps looks the struct named name and its wrapper up in the
// kernel's BTF, vmlinux or a module.
func (o *Object) findStructOps(name string) (*kernelStructOps, error) {
	base, err := o.opts.targetBTF()
	if err != nil {
		return nil, fmt.Errorf("kernel BTF for struct_ops %s: %w", name, err)
	}
	ops, err := o.env.FindType(base, name, (*btf.Struct)(nil), o.moduleFDs)
	if err != nil {
		return nil, fmt.Errorf("struct_ops: %w", err)
	}
	value, err := o.env.FindType(base, structOpsValuePrefix+name, (*btf.Struct)(nil), o.moduleFDs)
	if err != nil {
		return nil, fmt.Errorf("struct_ops: the kernel does not take %s as struct_ops: %w", name, err)
	}
	k := &kernelStructOps{ops: ops.Type.(*btf.Struct), opsID: ops.ID, value: value.Type.(*btf.Struct), valueID: value.ID, btfFD: value.BTFFD}
	for _, m := range k.value.Members {
		if m.Name == "data" {
			k.dataOffset = m.Offset.Bytes()
			return k, nil
		}
	}
	return nil, fmt.Errorf("struct_ops: %s%s has no data member", structOpsValuePrefix, name)
}

// structOpsTarget is the attach target of a struct_ops program: the
// kernel struct as attach_btf_id, the index of the member it implements
// as expected_attach_type.
func (o *Object) structOpsTarget(ps *reloc.Program) (attachTarget, error) {
	use := ps.StructOps
	k, err := o.findStructOps(use.Type)
	if err != nil {
		return attachTarget{}, err
	}
	index := slices.IndexFunc(k.ops.Members, func(m btf.Member) bool { return m.Name == use.Member })
	if index < 0 {
		return attachTarget{}, fmt.Errorf("struct_ops: the kernel's %s has no member %s", use.Type, use.Member)
	}
	return attachTarget{btfID: uint32(k.opsID), btfObjFD: k.btfFD, name: use.Type + "." + use.Member,
		expectedAttachType: uint32(index), structOps: true}, nil
}

// kernelStructOpsLocked resolves, once, the kernel types of a struct_ops
// map. obj.mu is held.
func (m *Map) kernelStructOpsLocked() (*kernelStructOps, error) {
	if m.structOps != nil {
		return m.structOps, nil
	}
	ops := m.spec.StructOps
	if ops == nil {
		return nil, fmt.Errorf("map %s: no struct_ops variable", m.Name())
	}
	k, err := m.obj.findStructOps(ops.Type.Name)
	if err != nil {
		return nil, fmt.Errorf("map %s: %w", m.Name(), err)
	}
	m.structOps = k
	return k, nil
}

// structOpsCreateAttr gives a struct_ops map the kernel's wrapper type as
// its value: btf_vmlinux_value_type_id, and for a module's struct the
// module's BTF fd. obj.mu and m.state are held.
func (m *Map) structOpsCreateAttr(attr *syscall.MapCreateAttr) error {
	k, err := m.kernelStructOpsLocked()
	if err != nil {
		return err
	}
	// The kernel takes the object's BTF along with the value type, as
	// the proof that the object knows the struct.
	btfFD, err := m.obj.btf.get(m.obj.spec.BTF)
	if err != nil {
		return fmt.Errorf("map %s: the object's BTF: %w", m.Name(), err)
	}
	attr.BTFFD = uint32(btfFD)
	attr.ValueSize = k.value.Size
	m.spec.ValueSize = k.value.Size
	attr.BTFVmlinuxValueTypeID = uint32(k.valueID)
	if k.btfFD > 0 {
		attr.ValueTypeBTFObjFD = int32(k.btfFD)
		attr.MapFlags |= uapi.FlagVTypeBTFObjFD
	}
	return nil
}

// structOpsValue lays the object's variable out as the kernel's wrapper
// value: members matched by name, function pointers replaced by the fds
// of the loaded programs (progFD), data copied when the sizes agree.
func (m *Map) structOpsValue(k *kernelStructOps, progFD func(name string) (int, error)) ([]byte, error) {
	ops := m.spec.StructOps
	value := make([]byte, k.value.Size)
	data := value[k.dataOffset:]
	funcs := make(map[string]string, len(ops.Funcs))
	for _, f := range ops.Funcs {
		funcs[f.Member] = f.Program
	}
	for _, member := range ops.Type.Members {
		size, err := btf.Sizeof(member.Type)
		if err != nil {
			return nil, fmt.Errorf("member %s: %w", member.Name, err)
		}
		start := uint64(member.Offset.Bytes())
		if start+uint64(size) > uint64(len(m.spec.Contents)) {
			return nil, fmt.Errorf("member %s: %d bytes at %d, past the end of %s", member.Name, size, start, ops.Type.Name)
		}
		own := m.spec.Contents[start : start+uint64(size)]
		prog, isFunc := funcs[member.Name]
		kindex := slices.IndexFunc(k.ops.Members, func(km btf.Member) bool { return km.Name == member.Name })
		if kindex < 0 {
			if isFunc || !allZero(own) {
				return nil, fmt.Errorf("member %s: the kernel's %s has no such member", member.Name, k.ops.Name)
			}
			continue
		}
		km := k.ops.Members[kindex]
		if uint64(km.Offset.Bytes())+8 > uint64(len(data)) {
			return nil, fmt.Errorf("member %s: at %d bytes, past the kernel's %s", member.Name, km.Offset.Bytes(), k.ops.Name)
		}
		dst := data[km.Offset.Bytes():]
		if isFunc {
			fd, err := progFD(prog)
			if err != nil {
				return nil, fmt.Errorf("member %s: %w", member.Name, err)
			}
			binary.NativeEndian.PutUint64(dst, uint64(fd))
			continue
		}
		if member.BitfieldSize != 0 || km.BitfieldSize != 0 {
			if allZero(own) {
				continue
			}
			return nil, fmt.Errorf("member %s: bitfields in struct_ops data are not supported", member.Name)
		}
		ksize, err := btf.Sizeof(km.Type)
		if err != nil {
			return nil, fmt.Errorf("member %s: the kernel's type: %w", member.Name, err)
		}
		if ksize != size || uint64(km.Offset.Bytes())+uint64(ksize) > uint64(len(data)) {
			return nil, fmt.Errorf("member %s: %d bytes in the object, %d in the kernel's %s", member.Name, size, ksize, k.ops.Name)
		}
		copy(dst, own)
	}
	return value, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
