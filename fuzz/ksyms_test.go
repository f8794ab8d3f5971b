package fuzz

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rawload/rawload/bpf"
	"github.com/rawload/rawload/elf"
	"github.com/rawload/rawload/reloc"
)

// ksymsObjects are the objects whose BTF has a .ksyms DATASEC.
var ksymsObjects = []string{"externs.o", "percpu_ksym.o", "kfunc.o"}

// parseSpec runs what `rawload inspect` runs on an object: reloc.Link,
// then the description. It must return, never panic; an error and a
// result are both fine for a damaged object.
func parseSpec(t *testing.T, what string, data []byte) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("%s: panic: %v", what, r)
		}
	}()
	spec, err := bpf.ParseSpec(data)
	if err != nil {
		return
	}
	checkSpec(t, spec)
}

// linkBoth is parseSpec, and Link to final instructions against the test
// target BTF as Open does.
func linkBoth(t *testing.T, what string, data []byte) {
	t.Helper()
	parseSpec(t, what, data)
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("%s: panic: %v", what, r)
		}
	}()
	if obj, err := reloc.Link(data, &reloc.LinkOptions{TargetBTF: targetFor(data)}); err == nil {
		checkObject(t, obj)
	}
}

// TestKsymsBTFBytes is the regression test of issue 8's first defect: a
// byte of the .BTF of an object with a .ksyms DATASEC, set to 0x00, 0xff
// or one more than it was, made Open and ParseSpec panic. Every byte of
// the section gets each of the three values. ParseSpec is reloc.Link with
// no target BTF, which for these objects (no CO-RE relocations) is all
// of Link. The race detector makes each call ten times slower, so under
// it every third byte gets one of the values, in turn (a ninth of the
// work); FuzzBTF covers the same ground in CI.
func TestKsymsBTFBytes(t *testing.T) {
	for _, name := range ksymsObjects {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data := readTestdata(t, name)
			sec := section(t, data, ".BTF")
			b := append([]byte(nil), data...)
			for i := sec.Offset; i < sec.Offset+sec.Size; i++ {
				orig := b[i]
				for k, v := range []byte{0x00, 0xff, orig + 1} {
					if v == orig || (raceEnabled && (i%3 != 0 || uint64(k) != (i/3)%3)) {
						continue
					}
					b[i] = v
					parseSpec(t, fmt.Sprintf(".BTF byte %#x = %#02x (was %#02x)", i-sec.Offset, v, orig), b)
				}
				b[i] = orig
			}
		})
	}
}

// TestKsymsDatasecVlen raises (and clears) the member count of the .ksyms
// DATASEC itself, the exact change that panicked the removed hand-written
// BTF reader: the datasec then claims members that are really the next
// types, or reaches past the end of the type section.
func TestKsymsDatasecVlen(t *testing.T) {
	for _, name := range ksymsObjects {
		t.Run(name, func(t *testing.T) {
			data := readTestdata(t, name)
			f, err := elf.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			sec := section(t, data, ".BTF")
			at, vlen := datasecVlen(t, sec.Data, f.ByteOrder, ".ksyms")
			if vlen == 0 {
				t.Fatalf(".ksyms DATASEC has no variables")
			}
			for _, v := range []uint16{vlen + 1, vlen + 2, vlen * 2, 0x7fff, 0xffff, 0} {
				b := append([]byte(nil), data...)
				info := b[sec.Offset+uint64(at):]
				f.ByteOrder.PutUint32(info, f.ByteOrder.Uint32(info)&^0xffff|uint32(v))
				linkBoth(t, fmt.Sprintf(".ksyms vlen %d (was %d)", v, vlen), b)
			}
		})
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func section(t testing.TB, data []byte, name string) *elf.Section {
	t.Helper()
	f, err := elf.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	sec := f.Section(name)
	if sec == nil {
		t.Fatalf("no section %s", name)
	}
	return sec
}

// datasecVlen walks the raw type section of a .BTF section and returns
// the offset, within the section, of the info word of the DATASEC called
// name, and its vlen. It knows only the record sizes of each kind: a test
// helper, not a parser for untrusted input.
func datasecVlen(t *testing.T, raw []byte, bo binary.ByteOrder, name string) (int, uint16) {
	t.Helper()
	if len(raw) < 24 || bo.Uint16(raw) != 0xeb9f {
		t.Fatal("no BTF header")
	}
	hdrLen := int(bo.Uint32(raw[4:]))
	typeOff, typeLen := hdrLen+int(bo.Uint32(raw[8:])), int(bo.Uint32(raw[12:]))
	strOff := hdrLen + int(bo.Uint32(raw[16:]))
	str := func(off uint32) string {
		s := raw[strOff+int(off):]
		for i, c := range s {
			if c == 0 {
				return string(s[:i])
			}
		}
		return string(s)
	}
	for off := typeOff; off < typeOff+typeLen; {
		nameOff, info := bo.Uint32(raw[off:]), bo.Uint32(raw[off+4:])
		kind, vlen := (info>>24)&0x1f, int(info&0xffff)
		if kind == 15 && str(nameOff) == name {
			return off + 4, uint16(vlen)
		}
		off += 12
		switch kind {
		case 1, 14, 17: // INT, VAR, DECL_TAG
			off += 4
		case 3: // ARRAY
			off += 12
		case 4, 5, 15, 19: // STRUCT, UNION, DATASEC, ENUM64
			off += 12 * vlen
		case 6, 13: // ENUM, FUNC_PROTO
			off += 8 * vlen
		}
	}
	t.Fatalf("no DATASEC %s", name)
	return 0, 0
}
