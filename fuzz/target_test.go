package fuzz

import (
	"bytes"
	"encoding/binary"
	"flag"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/cilium/ebpf/btf"

	"github.com/rawload/rawload/reloc"
)

// targetBTFPaths are the kernel BTF that CO-RE relocations are computed
// against in these tests, so that linking runs to final instructions
// without a kernel: a few types named as the kernel names them, with the
// members the test objects relocate; little endian, and big endian for
// the -eb objects (cilium/ebpf relocates only within one byte order).
var targetBTFPaths = map[binary.ByteOrder]string{
	binary.LittleEndian: filepath.Join("..", "testdata", "seeds", "target.btf"),
	binary.BigEndian:    filepath.Join("..", "testdata", "seeds", "target-eb.btf"),
}

var updateTargetBTF = flag.Bool("update-target-btf", false, "rewrite testdata/seeds/target*.btf")

// targetTypes are the types of targetBTFPath. Offsets differ from every
// object's local layout, so an applied relocation changes the bytes.
func targetTypes() []btf.Type {
	s32 := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
	char := &btf.Int{Name: "char", Size: 1, Encoding: btf.Signed}
	task := &btf.Struct{Name: "task_struct", Size: 64}
	task.Members = []btf.Member{
		{Name: "state", Type: s32, Offset: 0},
		{Name: "pid", Type: s32, Offset: 8 * 8},
		{Name: "tgid", Type: s32, Offset: 12 * 8},
		{Name: "comm", Type: &btf.Array{Index: s32, Type: char, Nelems: 16}, Offset: 16 * 8},
		{Name: "real_parent", Type: &btf.Pointer{Target: task}, Offset: 32 * 8},
	}
	mapType := &btf.Enum{Name: "bpf_map_type", Size: 4, Values: []btf.EnumValue{
		{Name: "BPF_MAP_TYPE_UNSPEC", Value: 0},
		{Name: "BPF_MAP_TYPE_ARRAY", Value: 2},
		{Name: "BPF_MAP_TYPE_RINGBUF", Value: 27},
	}}
	return []btf.Type{task, mapType}
}

func marshalTargetBTF(bo binary.ByteOrder) ([]byte, error) {
	b, err := btf.NewBuilder(nil, nil)
	if err != nil {
		return nil, err
	}
	for _, typ := range targetTypes() {
		if _, err := b.Add(typ); err != nil {
			return nil, err
		}
	}
	return b.Marshal(nil, &btf.MarshalOptions{Order: bo})
}

// TestTargetBTF checks that the committed target BTF is what targetTypes
// describes; -update-target-btf rewrites it.
func TestTargetBTF(t *testing.T) {
	for bo, path := range targetBTFPaths {
		want, err := marshalTargetBTF(bo)
		if err != nil {
			t.Fatal(err)
		}
		if *updateTargetBTF {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s is stale: go test ./fuzz -run TestTargetBTF -update-target-btf", path)
		}
		if _, err := loadTargetBTF(bo); err != nil {
			t.Fatal(err)
		}
	}
}

var targetSpecs sync.Map // binary.ByteOrder -> func() (*btf.Spec, error)

// loadTargetBTF parses the committed target BTF of one byte order, once
// per process. Callers must not modify the spec; CO-RE only reads it.
func loadTargetBTF(bo binary.ByteOrder) (*btf.Spec, error) {
	load, _ := targetSpecs.LoadOrStore(bo, sync.OnceValues(func() (*btf.Spec, error) {
		raw, err := os.ReadFile(targetBTFPaths[bo])
		if err != nil {
			return nil, err
		}
		return btf.LoadSpecFromReader(bytes.NewReader(raw))
	}))
	return load.(func() (*btf.Spec, error))()
}

// targetFor is reloc.LinkOptions.TargetBTF for an object: the target BTF
// in the byte order its ELF header names (little endian if none).
func targetFor(data []byte) func() (*btf.Spec, error) {
	bo := binary.ByteOrder(binary.LittleEndian)
	if len(data) > 5 && data[5] == 2 { // ELFDATA2MSB
		bo = binary.BigEndian
	}
	return func() (*btf.Spec, error) { return loadTargetBTF(bo) }
}

// TestSeedObjects checks that the fuzz seeds still hold what
// testdata/README.md says they do: every program links without error,
// and tiny.o's CO-RE relocation is applied against the target BTF
// (task_struct.pid at 8 there, 0 in the object).
func TestSeedObjects(t *testing.T) {
	for name, data := range smallSeeds(t) {
		obj, err := reloc.Link(data, &reloc.LinkOptions{TargetBTF: targetFor(data)})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkObject(t, obj)
		for _, p := range obj.Programs {
			if p.Err != nil || len(p.FuncInfo) == 0 || len(p.LineInfo) == 0 {
				t.Errorf("%s: %s: %v, %d bytes of func info, %d of line info", name, p.Name, p.Err, len(p.FuncInfo), len(p.LineInfo))
			}
		}
		if name == "tiny.o" || name == "tiny-eb.o" {
			p := obj.Program("prog")
			if p == nil || p.CORE != 1 || obj.ByteOrder.Uint32(p.Insns[8*8+4:]) != 8 {
				t.Errorf("%s: CO-RE relocation of task_struct.pid not applied: %+v", name, p)
			}
			if len(obj.Maps) != 3 || len(p.Externs) != 1 || p.Externs[0].Kind != reloc.ExternKsymBTF {
				t.Errorf("%s: %d maps, externs %+v", name, len(obj.Maps), p.Externs)
			}
		}
	}
}
