package reloc

import (
	"github.com/cilium/ebpf/btf"
)

// MapSource says where in the object a map was defined.
type MapSource int

const (
	// MapBTF is a map defined in the BTF-described .maps section.
	MapBTF MapSource = iota
	// MapLegacy is a struct bpf_map_def in the legacy maps section.
	MapLegacy
	// MapGlobalData is a single-element array holding a .data, .rodata or
	// .bss section (or a named variant of one).
	MapGlobalData
	// MapKconfig is the read-only single-element array of the .kconfig
	// extern variables, filled by the loader from the kernel's config.
	MapKconfig
	// MapStructOps is a variable of a .struct_ops or .struct_ops.link
	// section: a kernel struct of function pointers to the object's
	// struct_ops programs.
	MapStructOps
)

func (s MapSource) String() string {
	switch s {
	case MapBTF:
		return "btf"
	case MapLegacy:
		return "legacy"
	case MapGlobalData:
		return "global-data"
	case MapKconfig:
		return "kconfig"
	case MapStructOps:
		return "struct_ops"
	}
	return "unknown"
}

// Pinning values of a BTF map definition (libbpf's LIBBPF_PIN_*).
const (
	PinNone   = 0
	PinByName = 1
)

// MapSpec describes a map to create.
type MapSpec struct {
	Name       string
	Section    string
	Source     MapSource
	Type       uint32
	KeySize    uint32
	ValueSize  uint32
	MaxEntries uint32
	Flags      uint32
	NumaNode   uint32
	MapExtra   uint64
	Pinning    uint32
	// Contents is the initial value of a global data map (key 0); nil
	// means all zeroes.
	Contents []byte
	// Freeze makes the map read-only from user space once Contents are
	// written, as .rodata must be.
	Freeze bool
	// key and value are the BTF types of key and value, when known: see
	// KeyType and ValueType.
	key, value typeRef
	// Inner is the template of the inner maps of a map of maps.
	Inner *MapSpec
	// Values are the initial elements of a map of maps or program array.
	Values []MapValue
	// BTFKey and BTFValue are the ids of key and value in Object.BTF, 0
	// when the map has no BTF for them.
	BTFKey, BTFValue btf.TypeID
	// Kconfig lists the variables of the .kconfig map.
	Kconfig []KconfigVar
	// StructOps is the variable a struct_ops map holds; Contents are its
	// bytes as the object lays them out.
	StructOps *StructOps
	// Err is set when the definition needs something rawload cannot create
	// yet; creating the map (and loading a program using it) reports it.
	Err error

	valuesOffset    uint64
	structOpsOffset uint64
	hasValues       bool
}

// Variable is a named global in a global data map.
type Variable struct {
	Name    string
	Section string
	Map     int // index into Object.Maps
	Offset  uint64
	Size    uint64
	// typ is the variable's BTF type: see Type.
	typ typeRef
}
