package ldimm64

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// The instruction every patch starts from: dst r3, a nonzero offset that a
// patch must preserve, and immediates a patch must overwrite.
var (
	patchBaseLE = []byte{0x18, 0x03, 0x02, 0x01, 0x11, 0x11, 0x11, 0x11, 0x00, 0x00, 0x00, 0x00, 0x22, 0x22, 0x22, 0x22}
	patchBaseBE = []byte{0x18, 0x30, 0x01, 0x02, 0x11, 0x11, 0x11, 0x11, 0x00, 0x00, 0x00, 0x00, 0x22, 0x22, 0x22, 0x22}
)

type patchFunc func([]byte, binary.ByteOrder) error

var patchCases = []struct {
	name  string
	patch patchFunc
	le    []byte
	be    []byte
}{
	{
		name:  "map fd",
		patch: func(b []byte, bo binary.ByteOrder) error { return PatchMapFD(b, bo, 5) },
		le:    []byte{0x18, 0x13, 0x02, 0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
		be:    []byte{0x18, 0x31, 0x01, 0x02, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
	},
	{
		name:  "map value",
		patch: func(b []byte, bo binary.ByteOrder) error { return PatchMapValue(b, bo, 5, 0x40) },
		le:    []byte{0x18, 0x23, 0x02, 0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00},
		be:    []byte{0x18, 0x32, 0x01, 0x02, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40},
	},
	{
		name:  "func backwards",
		patch: func(b []byte, bo binary.ByteOrder) error { return PatchFunc(b, bo, -3) },
		le:    []byte{0x18, 0x43, 0x02, 0x01, 0xfd, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
		be:    []byte{0x18, 0x34, 0x01, 0x02, 0xff, 0xff, 0xff, 0xfd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
	},
	{
		name:  "func forwards",
		patch: func(b []byte, bo binary.ByteOrder) error { return PatchFunc(b, bo, 0x102) },
		le:    []byte{0x18, 0x43, 0x02, 0x01, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
		be:    []byte{0x18, 0x34, 0x01, 0x02, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
	},
	{
		name:  "btf id",
		patch: func(b []byte, bo binary.ByteOrder) error { return PatchBTFID(b, bo, 0x1234, 9) },
		le:    []byte{0x18, 0x33, 0x02, 0x01, 0x34, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00},
		be:    []byte{0x18, 0x33, 0x01, 0x02, 0x00, 0x00, 0x12, 0x34, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09},
	},
	{
		name:  "btf id in vmlinux",
		patch: func(b []byte, bo binary.ByteOrder) error { return PatchBTFID(b, bo, 0xfffffffe, 0) },
		le:    []byte{0x18, 0x33, 0x02, 0x01, 0xfe, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
		be:    []byte{0x18, 0x33, 0x01, 0x02, 0xff, 0xff, 0xff, 0xfe, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
	},
}

func TestPatch(t *testing.T) {
	trailer := []byte{0x85, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00}
	for _, tc := range patchCases {
		for _, o := range orders {
			t.Run(tc.name+"/"+o.name, func(t *testing.T) {
				want := pick(o.bo, tc.le, tc.be)
				buf := append(append([]byte{}, pick(o.bo, patchBaseLE, patchBaseBE)...), trailer...)

				if err := tc.patch(buf, o.bo); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(buf[:Size], want) {
					t.Fatalf("patched =\n% x\nwant\n% x", buf[:Size], want)
				}
				if !bytes.Equal(buf[Size:], trailer) {
					t.Fatalf("patch wrote into the next instruction: % x", buf[Size:])
				}
			})
		}
	}
}

// Patching an already patched instruction replaces the source register and
// both immediates instead of merging with them, so re-running a relocation
// is harmless.
func TestPatchOverwritesEarlierPatch(t *testing.T) {
	for _, tc := range patchCases {
		for _, o := range orders {
			buf := append([]byte{}, pick(o.bo, patchBaseLE, patchBaseBE)...)
			if err := PatchMapValue(buf, o.bo, -1, 0xffffffff); err != nil {
				t.Fatal(err)
			}
			buf[1] = joinRegs(3, 0xf, o.bo) // every src bit set
			if err := tc.patch(buf, o.bo); err != nil {
				t.Fatalf("%s/%s: %v", tc.name, o.name, err)
			}
			if want := pick(o.bo, tc.le, tc.be); !bytes.Equal(buf, want) {
				t.Fatalf("%s/%s: repatched =\n% x\nwant\n% x", tc.name, o.name, buf, want)
			}
		}
	}
}

// Patches change exactly the source nibble and the two immediates; any other
// bit, whatever its value, survives. Checked bit by bit against an
// instruction whose untouched fields are all ones.
func TestPatchWritesOnlyOwnedFields(t *testing.T) {
	for _, o := range orders {
		var base [Size]byte
		if err := Encode(base[:], o.bo, Insn{Dst: 0xf, Src: 0, Off: -1}); err != nil {
			t.Fatal(err)
		}
		owned := make([]byte, Size) // mask of bits a patch may write
		owned[1] = joinRegs(0, 0xf, o.bo)
		copy(owned[4:8], []byte{0xff, 0xff, 0xff, 0xff})
		copy(owned[12:16], []byte{0xff, 0xff, 0xff, 0xff})

		for _, tc := range patchCases {
			buf := base
			if err := tc.patch(buf[:], o.bo); err != nil {
				t.Fatal(err)
			}
			for i := range buf {
				if (buf[i]^base[i])&^owned[i] != 0 {
					t.Errorf("%s/%s: byte %d changed outside owned bits: %#02x -> %#02x", tc.name, o.name, i, base[i], buf[i])
				}
			}
			ins, err := Decode(buf[:], o.bo)
			if err != nil {
				t.Fatal(err)
			}
			if ins.Dst != 0xf || ins.Off != -1 {
				t.Errorf("%s/%s: dst %d off %d, want 15 and -1", tc.name, o.name, ins.Dst, ins.Off)
			}
		}
	}
}

func TestPatchRejects(t *testing.T) {
	kinds := map[string]patchFunc{
		"map fd":    func(b []byte, bo binary.ByteOrder) error { return PatchMapFD(b, bo, 3) },
		"map value": func(b []byte, bo binary.ByteOrder) error { return PatchMapValue(b, bo, 3, 8) },
		"func":      func(b []byte, bo binary.ByteOrder) error { return PatchFunc(b, bo, 1) },
		"btf id":    func(b []byte, bo binary.ByteOrder) error { return PatchBTFID(b, bo, 1, 0) },
	}
	inputs := []struct {
		name   string
		reason string
		bytes  func(binary.ByteOrder) []byte
	}{
		{"short buffer", "need 16", func(bo binary.ByteOrder) []byte {
			return append([]byte{}, pick(bo, patchBaseLE, patchBaseBE)[:12]...)
		}},
		{"wrong opcode", "opcode 0xb7", func(binary.ByteOrder) []byte {
			// mov64 r1, 1 followed by exit: two ordinary instructions.
			return []byte{0xb7, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}
		}},
		{"garbage in second slot", "second slot", func(bo binary.ByteOrder) []byte {
			b := append([]byte{}, pick(bo, patchBaseLE, patchBaseBE)...)
			b[8] = 0x95
			return b
		}},
	}
	for kind, patch := range kinds {
		for _, in := range inputs {
			for _, o := range orders {
				buf := in.bytes(o.bo)
				orig := append([]byte{}, buf...)
				err := patch(buf, o.bo)
				if !errors.Is(err, ErrNotLoadImm64) {
					t.Fatalf("%s/%s/%s: error = %v, want ErrNotLoadImm64", kind, in.name, o.name, err)
				}
				if msg := err.Error(); !strings.Contains(msg, kind) || !strings.Contains(msg, in.reason) {
					t.Errorf("%s/%s/%s: error %q does not name the patch kind and reason %q", kind, in.name, o.name, msg, in.reason)
				}
				if !bytes.Equal(buf, orig) {
					t.Errorf("%s/%s/%s: rejected patch modified bytes: % x", kind, in.name, o.name, buf)
				}
			}
		}
	}
}
