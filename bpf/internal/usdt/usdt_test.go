package usdt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"testing"
)

var testSite = Site{
	Addr: 0x401087,
	Symbol: func(name string) (uint64, error) {
		if name == "table" {
			return 0x402010, nil
		}
		if name == "counter" {
			return 0x4020, nil
		}
		return 0, fmt.Errorf("no symbol %s", name)
	},
}

func TestParseArgsX86(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []Arg
	}{
		{"", []Arg{}},
		{"-4@%edi", []Arg{{Type: ArgReg, RegOff: 112, Size: 4, Signed: true}}},
		{"8@%rax 1@%r9b -2@%r15w", []Arg{
			{Type: ArgReg, RegOff: 80, Size: 8},
			{Type: ArgReg, RegOff: 64, Size: 1},
			{Type: ArgReg, RegOff: 0, Size: 2, Signed: true},
		}},
		{"4@$71 -4@$-9 8@$0x10", []Arg{
			{Type: ArgConst, ValOff: 71, Size: 4},
			{Type: ArgConst, ValOff: ^uint64(8), Size: 4, Signed: true},
			{Type: ArgConst, ValOff: 16, Size: 8},
		}},
		{"-4@-20(%rbp) 8@(%rsp)", []Arg{
			{Type: ArgRegDeref, ValOff: ^uint64(19), RegOff: 32, Size: 4, Signed: true},
			{Type: ArgRegDeref, RegOff: 152, Size: 8},
		}},
		{"-1@-96(%rbp,%rax,8) 4@(%rcx,%rdx) 2@8(%rbx,%rsi,2)", []Arg{
			{Type: ArgSIB, ValOff: ^uint64(95), RegOff: 32, IdxRegOff: 80, ScaleShift: 3, Size: 1, Signed: true},
			{Type: ArgSIB, RegOff: 88, IdxRegOff: 96, Size: 4},
			{Type: ArgSIB, ValOff: 8, RegOff: 40, IdxRegOff: 104, ScaleShift: 1, Size: 2},
		}},
		// Symbols, relative to the ip at the site.
		{"8@counter(%rip)", []Arg{{Type: ArgRegDeref, RegOff: 128, ValOff: negU64(0x401087 - 0x4020), Size: 8}}},
		{"-4@table(,%rax,4)", []Arg{{Type: ArgSIB, RegOff: 128, IdxRegOff: 80, ScaleShift: 2, ValOff: 0x402010 - 0x401087, Size: 4, Signed: true}}},
		{"4@table+8", []Arg{{Type: ArgRegDeref, RegOff: 128, ValOff: 0x402018 - 0x401087, Size: 4}}},
		{"4@table-4(%rax)", []Arg{{Type: ArgRegDeref, RegOff: 80, ValOff: 0x40200c, Size: 4}}},
	} {
		got, err := ParseArgs(c.in, "amd64", testSite)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if len(got) == 0 && len(c.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", c.in, got, c.want)
		}
	}
}

func TestParseArgsErrors(t *testing.T) {
	for _, in := range []string{
		"4@%ah",          // a high byte register
		"3@%eax",         // size 3
		"x@%eax",         // no size
		"%eax",           // no @
		"4@nosuch(%rip)", // unknown symbol
		"4@8(%rip)",      // rip-relative number: the next instruction's
		"4@(%rax,%rbx,3)",
		"4@(%rax",
		"4@$sym",
		"1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al", // 13 > 12
	} {
		if a, err := ParseArgs(in, "amd64", testSite); err == nil {
			t.Errorf("%q accepted: %+v", in, a)
		}
	}
	if _, err := ParseArgs("4@table(%rip)", "amd64", Site{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("a symbol without a symbol table: %v", err)
	}
	if _, err := ParseArgs("4@%eax", "mips", testSite); !errors.Is(err, ErrUnsupported) {
		t.Errorf("mips: %v", err)
	}
}

func TestParseArgsArm64(t *testing.T) {
	got, err := ParseArgs("-4@x0 8@[sp, 16] -8@[x29, -20] 4@5 8@[x1]", "arm64", Site{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Arg{
		{Type: ArgReg, RegOff: 0, Size: 4, Signed: true},
		{Type: ArgRegDeref, RegOff: 248, ValOff: 16, Size: 8},
		{Type: ArgRegDeref, RegOff: 29 * 8, ValOff: ^uint64(19), Size: 8, Signed: true},
		{Type: ArgConst, ValOff: 5, Size: 4},
		{Type: ArgRegDeref, RegOff: 8, Size: 8},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

// TestEncode checks both layouts byte by byte against what clang lays
// out for libbpf's structs (see testdata/attach_tracing.c).
func TestEncode(t *testing.T) {
	spec := Spec{Cookie: 0x1122334455667788, Args: []Arg{
		{Type: ArgRegDeref, ValOff: ^uint64(19), RegOff: 32, Size: 4, Signed: true},
		{Type: ArgSIB, ValOff: 8, RegOff: 40, IdxRegOff: 0xabc, ScaleShift: 3, Size: 2},
	}}
	le := binary.LittleEndian

	v2, err := spec.Encode(LayoutV2, le)
	if err != nil {
		t.Fatal(err)
	}
	if len(v2) != 304 {
		t.Fatalf("v2 size %d", len(v2))
	}
	want0 := []byte{0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 0, 32, 0, 1, 32, 0, 0, 0, 0, 0, 0}
	if got := v2[:24]; !reflect.DeepEqual(got, want0) {
		t.Errorf("v2 arg 0: % x\nwant      % x", got, want0)
	}
	want1 := []byte{8, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0xbc, 0x3a, 0, 0, 40, 0, 0, 48, 0, 0, 0, 0, 0, 0}
	if got := v2[24:48]; !reflect.DeepEqual(got, want1) {
		t.Errorf("v2 arg 1: % x\nwant      % x", got, want1)
	}
	if le.Uint64(v2[288:]) != spec.Cookie || le.Uint16(v2[296:]) != 2 {
		t.Errorf("v2 cookie or count: % x", v2[288:])
	}
	be, err := spec.Encode(LayoutV2, binary.BigEndian)
	if err != nil {
		t.Fatal(err)
	}
	// Big-endian: reserved at 8, idx<<4|scale at 10, arg_type at 12.
	if got := be[24+8 : 24+14]; !reflect.DeepEqual(got, []byte{0, 0, 0xab, 0xc3, 3, 0}) {
		t.Errorf("v2 big-endian arg 1 bitfields: % x", got)
	}

	if _, err := spec.Encode(LayoutV1, le); err == nil {
		t.Error("a SIB argument encoded for libbpf before 1.7")
	}
	spec.Args = spec.Args[:1]
	v1, err := spec.Encode(LayoutV1, le)
	if err != nil {
		t.Fatal(err)
	}
	wantV1 := []byte{0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 32, 0, 1, 32}
	if len(v1) != 208 || !reflect.DeepEqual(v1[:16], wantV1) || le.Uint64(v1[192:]) != spec.Cookie || le.Uint16(v1[200:]) != 1 {
		t.Errorf("v1: % x ... % x", v1[:16], v1[192:])
	}
	for size, want := range map[uint32]Layout{208: LayoutV1, 304: LayoutV2} {
		if l, err := LayoutOf(size); err != nil || l != want {
			t.Errorf("LayoutOf(%d) = %v, %v", size, l, err)
		}
	}
	if _, err := LayoutOf(200); err == nil {
		t.Error("LayoutOf(200) accepted")
	}
}

func FuzzParseArgs(f *testing.F) {
	for _, s := range []string{"-4@%edi 8@-16(%rbp) 4@$5", "-1@-96(%rbp,%rax,8)", "8@counter(%rip)", "-4@table(,%rax,4)", "8@[sp, 16]"} {
		f.Add(s, "amd64")
		f.Add(s, "arm64")
	}
	f.Fuzz(func(t *testing.T, s, arch string) {
		args, err := ParseArgs(s, arch, testSite)
		if err != nil {
			return
		}
		for _, l := range []Layout{LayoutV1, LayoutV2} {
			b, err := Spec{Args: args}.Encode(l, binary.LittleEndian)
			if err == nil && len(b) != l.Size() {
				t.Fatalf("layout %d: %d bytes", l, len(b))
			}
		}
	})
}

// negU64 is -v as a uint64, an offset back from the site.
func negU64(v uint64) uint64 { return -v }
