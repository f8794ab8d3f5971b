package ldimm64

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// orders runs a test in both byte orders an object can have.
var orders = []struct {
	name string
	bo   binary.ByteOrder
}{
	{"le", binary.LittleEndian},
	{"be", binary.BigEndian},
}

// pick returns the encoding for bo from a little-endian/big-endian pair.
func pick(bo binary.ByteOrder, le, be []byte) []byte {
	if bo == binary.LittleEndian {
		return le
	}
	return be
}

// Encodings written out by hand from the UAPI layout, so the tests do not
// trust the code under test to define what the bytes should be.
var knownEncodings = []struct {
	name string
	insn Insn
	imm  uint64
	le   []byte
	be   []byte
}{
	{
		name: "map fd reference",
		insn: Insn{Dst: 1, Src: PseudoMapFD, Lo: 7},
		imm:  7,
		le:   []byte{0x18, 0x11, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
		be:   []byte{0x18, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
	},
	{
		name: "every field distinct",
		insn: Insn{Dst: 2, Src: PseudoMapIdxValue, Off: 0x0102, Lo: 0x11223344, Hi: 0xdeadbeef},
		imm:  0xdeadbeef11223344,
		le:   []byte{0x18, 0x62, 0x02, 0x01, 0x44, 0x33, 0x22, 0x11, 0x00, 0x00, 0x00, 0x00, 0xef, 0xbe, 0xad, 0xde},
		be:   []byte{0x18, 0x26, 0x01, 0x02, 0x11, 0x22, 0x33, 0x44, 0x00, 0x00, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef},
	},
	{
		name: "plain constant, negative offset",
		insn: Insn{Dst: 9, Src: PseudoNone, Off: -1, Lo: 0xffffffff, Hi: 0x80000000},
		imm:  0x80000000ffffffff,
		le:   []byte{0x18, 0x09, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80},
		be:   []byte{0x18, 0x90, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00},
	},
	{
		name: "widest registers",
		insn: Insn{Dst: 15, Src: 15, Hi: 1},
		imm:  1 << 32,
		le:   []byte{0x18, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00},
		be:   []byte{0x18, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01},
	},
	{
		name: "btf id in a module",
		insn: Insn{Dst: 0, Src: PseudoBTFID, Lo: 0x0001e240, Hi: 12},
		imm:  12<<32 | 0x0001e240,
		le:   []byte{0x18, 0x30, 0x00, 0x00, 0x40, 0xe2, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00},
		be:   []byte{0x18, 0x03, 0x00, 0x00, 0x00, 0x01, 0xe2, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c},
	},
}

func TestDecodeKnownEncodings(t *testing.T) {
	for _, tc := range knownEncodings {
		for _, o := range orders {
			t.Run(tc.name+"/"+o.name, func(t *testing.T) {
				raw := pick(o.bo, tc.le, tc.be)
				// Trailing bytes belong to the next instruction and must be ignored.
				in := append(append([]byte{}, raw...), 0x85, 0x00, 0x00, 0x00)

				got, err := Decode(in, o.bo)
				if err != nil {
					t.Fatalf("Decode(% x): %v", raw, err)
				}
				if got != tc.insn {
					t.Fatalf("Decode(% x) = %+v, want %+v", raw, got, tc.insn)
				}
				if got.Imm() != tc.imm {
					t.Fatalf("Imm() = %#x, want %#x", got.Imm(), tc.imm)
				}
			})
		}
	}
}

func TestEncodeKnownEncodings(t *testing.T) {
	for _, tc := range knownEncodings {
		for _, o := range orders {
			t.Run(tc.name+"/"+o.name, func(t *testing.T) {
				want := pick(o.bo, tc.le, tc.be)
				// Pre-filled with garbage: Encode must write the reserved
				// fields too, and nothing past Size.
				buf := bytes.Repeat([]byte{0xaa}, Size+4)

				if err := Encode(buf, o.bo, tc.insn); err != nil {
					t.Fatalf("Encode(%+v): %v", tc.insn, err)
				}
				if !bytes.Equal(buf[:Size], want) {
					t.Fatalf("Encode(%+v) =\n% x\nwant\n% x", tc.insn, buf[:Size], want)
				}
				if !bytes.Equal(buf[Size:], []byte{0xaa, 0xaa, 0xaa, 0xaa}) {
					t.Fatalf("Encode wrote past Size: % x", buf[Size:])
				}
			})
		}
	}
}

func TestRoundTrip(t *testing.T) {
	insns := []Insn{
		{},
		{Dst: 10, Src: PseudoFunc, Lo: 0xfffffffe},
		{Dst: 5, Src: PseudoMapIdx, Off: 32767, Lo: 3},
		{Dst: 3, Src: PseudoMapValue, Off: -32768, Lo: 4, Hi: 4096},
		{Dst: 15, Src: 7, Lo: 0x01020304, Hi: 0x05060708},
	}
	for _, want := range insns {
		for _, o := range orders {
			var buf [Size]byte
			if err := Encode(buf[:], o.bo, want); err != nil {
				t.Fatalf("%s: Encode(%+v): %v", o.name, want, err)
			}
			got, err := Decode(buf[:], o.bo)
			if err != nil {
				t.Fatalf("%s: Decode(Encode(%+v)): %v", o.name, want, err)
			}
			if got != want {
				t.Fatalf("%s: Decode(Encode(%+v)) = %+v", o.name, want, got)
			}
		}
	}
}

// A ByteOrder that is neither binary.LittleEndian nor binary.BigEndian by
// identity, such as binary.NativeEndian, must still pick the right register
// nibbles.
func TestForeignByteOrderValues(t *testing.T) {
	type wrapped struct{ binary.ByteOrder }
	for _, tc := range knownEncodings {
		for _, o := range orders {
			bo := wrapped{o.bo}
			raw := pick(o.bo, tc.le, tc.be)
			got, err := Decode(raw, bo)
			if err != nil || got != tc.insn {
				t.Fatalf("%s/%s: Decode with wrapped order = %+v, %v; want %+v", tc.name, o.name, got, err, tc.insn)
			}
			var buf [Size]byte
			if err := Encode(buf[:], bo, tc.insn); err != nil || !bytes.Equal(buf[:], raw) {
				t.Fatalf("%s/%s: Encode with wrapped order = % x, %v; want % x", tc.name, o.name, buf, err, raw)
			}
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	valid := func(bo binary.ByteOrder) []byte {
		return append([]byte{}, pick(bo, knownEncodings[1].le, knownEncodings[1].be)...)
	}
	cases := []struct {
		name  string
		bytes func(binary.ByteOrder) []byte
	}{
		{"nil", func(binary.ByteOrder) []byte { return nil }},
		{"one slot", func(bo binary.ByteOrder) []byte { return valid(bo)[:8] }},
		{"one byte short", func(bo binary.ByteOrder) []byte { return valid(bo)[:Size-1] }},
		{"call opcode", func(bo binary.ByteOrder) []byte { b := valid(bo); b[0] = 0x85; return b }},
		{"ld abs opcode", func(bo binary.ByteOrder) []byte { b := valid(bo); b[0] = 0x20; return b }},
		{"starts at second slot", func(bo binary.ByteOrder) []byte { b := valid(bo); return append(b[8:], b[:8]...) }},
		{"second slot opcode", func(bo binary.ByteOrder) []byte { b := valid(bo); b[8] = OpCode; return b }},
		{"second slot registers", func(bo binary.ByteOrder) []byte { b := valid(bo); b[9] = 0x01; return b }},
		{"second slot offset low", func(bo binary.ByteOrder) []byte { b := valid(bo); b[10] = 0x01; return b }},
		{"second slot offset high", func(bo binary.ByteOrder) []byte { b := valid(bo); b[11] = 0x80; return b }},
	}
	for _, tc := range cases {
		for _, o := range orders {
			t.Run(tc.name+"/"+o.name, func(t *testing.T) {
				in := tc.bytes(o.bo)
				if _, err := Decode(in, o.bo); !errors.Is(err, ErrNotLoadImm64) {
					t.Fatalf("Decode(% x) error = %v, want ErrNotLoadImm64", in, err)
				}
			})
		}
	}
}

func TestDecodeNilByteOrder(t *testing.T) {
	if _, err := Decode(knownEncodings[0].le, nil); err == nil {
		t.Fatal("Decode with nil byte order succeeded")
	}
	if err := Encode(make([]byte, Size), nil, Insn{}); err == nil {
		t.Fatal("Encode with nil byte order succeeded")
	}
}

func TestEncodeRejects(t *testing.T) {
	cases := []struct {
		name string
		size int
		insn Insn
	}{
		{"short buffer", Size - 1, Insn{Dst: 1}},
		{"empty buffer", 0, Insn{}},
		{"dst over a nibble", Size, Insn{Dst: 16}},
		{"src over a nibble", Size, Insn{Src: 0x80}},
	}
	for _, tc := range cases {
		for _, o := range orders {
			buf := bytes.Repeat([]byte{0xaa}, tc.size)
			err := Encode(buf, o.bo, tc.insn)
			if !errors.Is(err, ErrNotLoadImm64) {
				t.Fatalf("%s/%s: Encode error = %v, want ErrNotLoadImm64", tc.name, o.name, err)
			}
			if !bytes.Equal(buf, bytes.Repeat([]byte{0xaa}, tc.size)) {
				t.Fatalf("%s/%s: failed Encode wrote % x", tc.name, o.name, buf)
			}
		}
	}
}

func TestIsLoadImm64(t *testing.T) {
	cases := []struct {
		in   []byte
		want bool
	}{
		{nil, false},
		{[]byte{}, false},
		{[]byte{OpCode}, true}, // opcode only: a scanner may hand over a single slot
		{knownEncodings[1].le, true},
		{knownEncodings[1].be, true},
		{[]byte{0x85, 0, 0, 0, 1, 0, 0, 0}, false},
		{[]byte{0x00, 0, 0, 0, 0, 0, 0, 0}, false},
		{[]byte{0x10, 0, 0, 0, 0, 0, 0, 0}, false}, // BPF_LD|BPF_IMM|BPF_W is not lddw
	}
	for _, tc := range cases {
		if got := IsLoadImm64(tc.in); got != tc.want {
			t.Errorf("IsLoadImm64(% x) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
