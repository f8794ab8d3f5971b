package rawbtf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// rawSeed is a small BTF blob: the fuzz seeds' target BTF, whose types
// are structs, pointers, typedefs, enums and arrays referring to each
// other.
func rawSeed(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile("../../testdata/seeds/target.btf")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestRawBTFExtract: every type of a blob, copied out with what it refers
// to, decodes to the same type under its new id; a struct behind a
// pointer only is a shell with its name, kind and size.
func TestRawBTFExtract(t *testing.T) {
	data := rawSeed(t)
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	for id := uint32(1); id < raw.Count(); id++ {
		want, err := spec.TypeByID(btf.TypeID(id))
		if err != nil {
			t.Fatal(err)
		}
		ids, shells, err := raw.Closure([]uint32{id})
		if err != nil {
			t.Fatal(err)
		}
		blob := raw.Extract(ids, shells, nil).Blob
		small, err := btf.LoadSpecFromReader(bytes.NewReader(blob))
		if err != nil {
			t.Fatalf("type %d (%s): extracted BTF: %v", id, want, err)
		}
		got, err := small.TypeByID(btf.TypeID(NewID(ids, id)))
		if err != nil {
			t.Fatal(err)
		}
		if got.TypeName() != want.TypeName() {
			t.Errorf("type %d: %s, extracted %s", id, want, got)
		}
		wantSize, _ := btf.Sizeof(want)
		gotSize, _ := btf.Sizeof(got)
		if wantSize != gotSize {
			t.Errorf("type %d (%s): size %d, extracted %d", id, want, wantSize, gotSize)
		}
		if st, ok := want.(*btf.Struct); ok && !shells[id] {
			if gst := got.(*btf.Struct); len(gst.Members) != len(st.Members) {
				t.Errorf("type %d (%s): %d members, extracted %d", id, want, len(st.Members), len(gst.Members))
			}
		}
	}
}

func TestRawBTFMalformed(t *testing.T) {
	data := rawSeed(t)
	for _, cut := range []int{0, 10, 24, len(data) / 2, len(data) - 1} {
		if _, err := Parse(data[:cut]); !errors.Is(err, ErrBadBTF) {
			t.Errorf("%d of %d bytes: %v, want ErrBadBTF", cut, len(data), err)
		}
	}
}

// FuzzRawBTF: any bytes either fail to parse with ErrBadBTF or can be
// searched, closed over and extracted without a panic, and what is
// extracted is BTF.
func FuzzRawBTF(f *testing.F) {
	f.Add(rawSeed(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		raw, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrBadBTF) {
				t.Fatalf("error without ErrBadBTF: %v", err)
			}
			return
		}
		var roots []uint32
		for id := uint32(1); id < raw.Count() && id < 64; id++ {
			roots = append(roots, id)
			raw.TypeName(id)
		}
		raw.Find(map[string]bool{"a": true, "task_struct": true}, true, func(uint8) bool { return true })
		raw.FindFirst("a", func(uint8) bool { return true })
		ids, shells, err := raw.Closure(roots)
		if err != nil {
			return
		}
		extracted := raw.Extract(ids, shells, []uint32{1, 7, 1 << 30})
		for _, old := range []uint32{1, 7, 1 << 30} {
			if _, ok := extracted.StringOffset(old); !ok {
				t.Fatalf("extra string %d not carried over", old)
			}
		}
		btf.LoadSpecFromReader(bytes.NewReader(extracted.Blob))
	})
}

// TestRawBTFExtractStrings: strings named outside the types are carried
// over, each to an offset holding the same bytes.
func TestRawBTFExtractStrings(t *testing.T) {
	data := rawSeed(t)
	raw, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	ids, shells, err := raw.Closure([]uint32{1})
	if err != nil {
		t.Fatal(err)
	}
	var extra []uint32
	for off := uint32(1); off < uint32(len(raw.strings)); off++ {
		if raw.strings[off-1] == 0 {
			extra = append(extra, off)
		}
	}
	extracted := raw.Extract(ids, shells, extra)
	strs := extracted.Blob[btfHeaderLen+binary.LittleEndian.Uint32(extracted.Blob[16:]):]
	for _, old := range extra {
		off, ok := extracted.StringOffset(old)
		want, _ := raw.String(old)
		if !ok || off >= uint32(len(strs)) {
			t.Fatalf("string at %d (%q): carried to %d, %v", old, want, off, ok)
		}
		got := strs[off:]
		if got = got[:bytes.IndexByte(got, 0)]; !bytes.Equal(got, want) {
			t.Errorf("string at %d: %q, carried over as %q", old, want, got)
		}
	}
	if _, ok := extracted.StringOffset(uint32(len(raw.strings)) + 100); ok {
		t.Error("a string never asked for reported carried over")
	}
}
