package reloc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf/btf"

	"github.com/rawload/rawload/elf"
)

// coreRecords returns tiny_core.o and where in it its CO-RE relocation
// records start, with their count.
func coreRecords(t *testing.T) (data []byte, at, count int) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "seeds", "tiny_core.o"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	sec := f.Section(".BTF.ext")
	bo := binary.LittleEndian
	ext := data[sec.Offset : sec.Offset+sec.Size]
	relos := int(sec.Offset) + int(bo.Uint32(ext[4:])) + int(bo.Uint32(ext[24:]))
	// record size, then one section: name offset and count.
	return data, relos + 12, int(bo.Uint32(data[relos+8:]))
}

// targetSeedBTF is the fuzz seeds' CO-RE target (testdata/seeds/target.btf).
func targetSeedBTF(t *testing.T) func() (*btf.Spec, error) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "seeds", "target.btf"))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return func() (*btf.Spec, error) { return spec, nil }
}

// The local types of tiny_core.o's relocations are extracted; a record
// this reading does not take sends the object to cilium/ebpf's reading
// of its whole BTF, which decides (and words any error) as it always
// did: a local type id, a record size it does not know, a type id past
// the BTF.
func TestCORELocalFallback(t *testing.T) {
	data, at, count := coreRecords(t)
	if count != 5 {
		t.Fatalf("tiny_core.o has %d CO-RE records, want 5", count)
	}
	link := func(data []byte) (*Object, error) {
		return Link(data, &LinkOptions{TargetBTF: targetSeedBTF(t)})
	}
	obj, err := link(data)
	if err != nil || !obj.coreTypesExtracted {
		t.Fatalf("tiny_core.o: %v, extracted %v", err, obj != nil && obj.coreTypesExtracted)
	}
	bo := binary.LittleEndian
	for _, tc := range []struct {
		name   string
		change func(d []byte)
	}{
		{"a local type id", func(d []byte) { bo.PutUint32(d[at+12:], coreTypeIDLocal) }},
		{"a type id past the BTF", func(d []byte) { bo.PutUint32(d[at+4:], 1<<20) }},
		{"records of 20 bytes", func(d []byte) { bo.PutUint32(d[at-12:], 20) }},
	} {
		d := bytes.Clone(data)
		tc.change(d)
		passed, perr := link(d)
		full, ferr := func() (*Object, error) {
			defer func(was bool) { fullBTFPath = was }(fullBTFPath)
			fullBTFPath = true
			return link(d)
		}()
		if fmt.Sprint(perr) != fmt.Sprint(ferr) {
			t.Errorf("%s: %v; full path: %v", tc.name, perr, ferr)
		}
		if passed != nil && passed.coreTypesExtracted {
			t.Errorf("%s: local types extracted", tc.name)
		}
		if passed != nil && full != nil && !sameInsns(t, passed.Programs[0].Insns, full.Programs[0].Insns, passed.BTF, full.BTF) {
			t.Errorf("%s: instructions differ from the full path", tc.name)
		}
	}
}
