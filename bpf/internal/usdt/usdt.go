// Package usdt turns the argument string of a USDT probe ("-4@%edi
// 8@-16(%rbp) 4@$5") into the argument specs that libbpf's usdt.bpf.h
// reads from its __bpf_usdt_specs map, in either of the two layouts that
// usdt.bpf.h has had. It is pure: no files, no syscalls.
//
// The rules are libbpf's (src/usdt.c, parse_usdt_arg and
// parse_usdt_spec); the code is written afresh.
package usdt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// MaxArgs is BPF_USDT_MAX_ARG_CNT: the arguments a spec has room for.
const MaxArgs = 12

// ArgType is enum __bpf_usdt_arg_type: where an argument's value is.
type ArgType uint8

const (
	// ArgConst is a constant, in ValOff ("4@$71").
	ArgConst ArgType = iota
	// ArgReg is the value of a register ("-4@%eax").
	ArgReg
	// ArgRegDeref is memory at a register plus ValOff ("-4@-20(%rbp)").
	ArgRegDeref
	// ArgSIB is memory at base + index<<scale + ValOff
	// ("1@-96(%rbp,%rax,8)"); only the layout of libbpf 1.7 has it.
	ArgSIB
)

func (t ArgType) String() string {
	switch t {
	case ArgConst:
		return "const"
	case ArgReg:
		return "reg"
	case ArgRegDeref:
		return "reg_deref"
	case ArgSIB:
		return "sib"
	}
	return fmt.Sprintf("ArgType(%d)", uint8(t))
}

// Arg is struct __bpf_usdt_arg_spec: how the program finds one argument.
type Arg struct {
	Type ArgType
	// ValOff is the constant, or the offset added to the address.
	ValOff uint64
	// RegOff is the offset of the (base) register in struct pt_regs;
	// IdxRegOff that of the index register of ArgSIB.
	RegOff, IdxRegOff uint16
	// ScaleShift is log2 of the scale of ArgSIB: 0..3.
	ScaleShift uint8
	// Size is the argument's size in bytes: 1, 2, 4 or 8.
	Size   int
	Signed bool
}

// BitShift is arg_bitshift: 64 - 8*Size, what is cleared (or
// sign-extended) to widen the argument to 64 bits.
func (a Arg) BitShift() uint8 { return uint8(64 - 8*a.Size) }

// Spec is struct __bpf_usdt_spec: the arguments of a probe site and the
// cookie the program reads with bpf_usdt_cookie.
type Spec struct {
	Args   []Arg
	Cookie uint64
}

// ErrUnsupported is returned for an argument or an architecture this
// package cannot describe.
var ErrUnsupported = errors.New("unsupported")

// Site is the probe site whose arguments are parsed, for the arguments
// that name a symbol ("8@counter(%rip)", "-4@table(,%rax,4)"), which
// libbpf cannot read: such a location becomes an offset from the
// instruction pointer, which at the probe is the site's address in
// every process, wherever the file is loaded.
type Site struct {
	// Addr is the probe's link-time address.
	Addr uint64
	// Symbol gives the link-time address of a symbol of the probe's
	// file; nil refuses arguments that name one.
	Symbol func(name string) (uint64, error)
}

// ParseArgs parses the argument string of a probe built for arch (a
// GOARCH: amd64, 386, arm64).
func ParseArgs(args, arch string, site Site) ([]Arg, error) {
	var parse func(loc string) (Arg, error)
	switch arch {
	case "amd64":
		parse = func(loc string) (Arg, error) { return parseX86(loc, x86Regs64(), 128, site) }
	case "386":
		parse = func(loc string) (Arg, error) { return parseX86(loc, x86Regs32(), 48, site) }
	case "arm64":
		parse = parseArm64
	default:
		return nil, fmt.Errorf("USDT arguments of %s: %w", arch, ErrUnsupported)
	}
	fields := splitArgs(args)
	if len(fields) > MaxArgs {
		return nil, fmt.Errorf("%d USDT arguments in %q, more than the %d a spec holds", len(fields), args, MaxArgs)
	}
	out := make([]Arg, 0, len(fields))
	for i, field := range fields {
		sizeText, loc, ok := strings.Cut(field, "@")
		if !ok {
			return nil, fmt.Errorf("USDT argument %d %q: no SIZE@LOCATION", i, field)
		}
		size, err := strconv.Atoi(sizeText)
		if err != nil {
			return nil, fmt.Errorf("USDT argument %d %q: size %q is not a number", i, field, sizeText)
		}
		a, err := parse(loc)
		if err != nil {
			return nil, fmt.Errorf("USDT argument %d %q: %w", i, field, err)
		}
		a.Signed = size < 0
		a.Size = max(size, -size)
		switch a.Size {
		case 1, 2, 4, 8:
		default:
			return nil, fmt.Errorf("USDT argument %d %q: size %d is not 1, 2, 4 or 8", i, field, a.Size)
		}
		out = append(out, a)
	}
	return out, nil
}

// splitArgs splits an argument string at white space outside brackets:
// arm64 writes "8@[sp, 16]" with a space inside.
func splitArgs(s string) []string {
	var fields []string
	depth, start := 0, -1
	for i, c := range s {
		switch {
		case c == '[' || c == '(':
			depth++
		case c == ']' || c == ')':
			depth--
		case (c == ' ' || c == '\t') && depth <= 0:
			if start >= 0 {
				fields = append(fields, s[start:i])
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		fields = append(fields, s[start:])
	}
	return fields
}

// parseInt reads a decimal or 0x-hexadecimal number, possibly negative.
func parseInt(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	base := 10
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		base, s = 16, s[2:]
	}
	v, err := strconv.ParseUint(s, base, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if neg {
		return -int64(v), nil
	}
	return int64(v), nil
}

// x86Regs64 maps every name of a general register, in each width, to its
// offset in x86-64's struct pt_regs (r15, r14, r13, r12, bp, bx, r11, r10,
// r9, r8, ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss). Built on
// first use: every rawload process links this package, few read USDT.
var x86Regs64 = sync.OnceValue(func() map[string]uint16 {
	m := map[string]uint16{"rip": 128}
	for _, r := range []struct {
		names []string
		off   uint16
	}{
		{[]string{"rax", "eax", "ax", "al"}, 80},
		{[]string{"rbx", "ebx", "bx", "bl"}, 40},
		{[]string{"rcx", "ecx", "cx", "cl"}, 88},
		{[]string{"rdx", "edx", "dx", "dl"}, 96},
		{[]string{"rsi", "esi", "si", "sil"}, 104},
		{[]string{"rdi", "edi", "di", "dil"}, 112},
		{[]string{"rbp", "ebp", "bp", "bpl"}, 32},
		{[]string{"rsp", "esp", "sp", "spl"}, 152},
	} {
		for _, n := range r.names {
			m[n] = r.off
		}
	}
	for i, off := range []uint16{72, 64, 56, 48, 24, 16, 8, 0} { // r8..r15
		n := fmt.Sprintf("r%d", 8+i)
		m[n], m[n+"d"], m[n+"w"], m[n+"b"] = off, off, off, off
	}
	return m
})

// x86Regs32 is i386's struct pt_regs (bx, cx, dx, si, di, bp, ax, ds,
// es, fs, gs, orig_ax, ip, cs, flags, sp, ss).
var x86Regs32 = sync.OnceValue(func() map[string]uint16 {
	m := map[string]uint16{"eip": 48}
	for _, r := range []struct {
		names []string
		off   uint16
	}{
		{[]string{"eax", "ax", "al"}, 24},
		{[]string{"ebx", "bx", "bl"}, 0},
		{[]string{"ecx", "cx", "cl"}, 4},
		{[]string{"edx", "dx", "dl"}, 8},
		{[]string{"esi", "si"}, 12},
		{[]string{"edi", "di"}, 16},
		{[]string{"ebp", "bp"}, 20},
		{[]string{"esp", "sp"}, 60},
	} {
		for _, n := range r.names {
			m[n] = r.off
		}
	}
	return m
})

func x86Reg(regs map[string]uint16, s string) (uint16, error) {
	name, ok := strings.CutPrefix(strings.TrimSpace(s), "%")
	if !ok {
		return 0, fmt.Errorf("%q is not a register", s)
	}
	off, ok := regs[name]
	if !ok {
		return 0, fmt.Errorf("register %%%s: %w", name, ErrUnsupported)
	}
	return off, nil
}

// displacement reads the displacement of a memory operand: a number, or
// a symbol with an optional +N or -N; symbolic says which.
func displacement(d string, site Site) (v uint64, symbolic bool, err error) {
	if d == "" {
		return 0, false, nil
	}
	if n, err := parseInt(d); err == nil {
		return uint64(n), false, nil
	}
	name, add := d, int64(0)
	if i := strings.LastIndexAny(d, "+-"); i > 0 {
		n, err := parseInt(d[i:])
		if err != nil {
			return 0, false, fmt.Errorf("displacement %q: %w", d, ErrUnsupported)
		}
		name, add = d[:i], n
	}
	if site.Symbol == nil {
		return 0, false, fmt.Errorf("displacement %q names a symbol: %w", d, ErrUnsupported)
	}
	addr, err := site.Symbol(name)
	if err != nil {
		return 0, false, fmt.Errorf("displacement %q: %w", d, err)
	}
	return addr + uint64(add), true, nil
}

// parseX86 reads an x86 location in AT&T syntax: $imm, %reg, off(%reg),
// (%reg), off(%base,%index[,scale]), and the forms naming a symbol:
// sym(%rip), sym(,%index,scale), sym(%reg), sym. ip is the offset of the
// instruction pointer in pt_regs.
func parseX86(loc string, regs map[string]uint16, ip uint16, site Site) (Arg, error) {
	switch {
	case strings.HasPrefix(loc, "$"):
		v, err := parseInt(loc[1:])
		if err != nil {
			return Arg{}, fmt.Errorf("constant: %w (a symbolic constant is not supported)", err)
		}
		return Arg{Type: ArgConst, ValOff: uint64(v)}, nil
	case strings.HasPrefix(loc, "%"):
		off, err := x86Reg(regs, loc)
		return Arg{Type: ArgReg, RegOff: off}, err
	}
	open := strings.IndexByte(loc, '(')
	if open < 0 {
		// An absolute address: memory at a symbol (non-PIC code).
		addr, symbolic, err := displacement(loc, site)
		if err != nil {
			return Arg{}, err
		}
		if !symbolic {
			return Arg{}, fmt.Errorf("location %q: %w", loc, ErrUnsupported)
		}
		return Arg{Type: ArgRegDeref, RegOff: ip, ValOff: addr - site.Addr}, nil
	}
	if !strings.HasSuffix(loc, ")") {
		return Arg{}, fmt.Errorf("location %q: %w", loc, ErrUnsupported)
	}
	disp, symbolic, err := displacement(loc[:open], site)
	if err != nil {
		return Arg{}, err
	}
	parts := strings.Split(loc[open+1:len(loc)-1], ",")
	var a Arg
	switch baseName := strings.TrimSpace(parts[0]); {
	case baseName == "%rip" || baseName == "%eip":
		// The symbol's address; the probe stops with the
		// instruction pointer at the site.
		if !symbolic || len(parts) != 1 {
			return Arg{}, fmt.Errorf("location %q: only sym(%%rip) is understood relative to the instruction pointer: %w", loc, ErrUnsupported)
		}
		a = Arg{Type: ArgRegDeref, RegOff: ip, ValOff: disp - site.Addr}
	case baseName == "":
		// No base: an absolute displacement, taken relative to the
		// instruction pointer so that SIB can carry it.
		if len(parts) < 2 {
			return Arg{}, fmt.Errorf("location %q: %w", loc, ErrUnsupported)
		}
		a = Arg{Type: ArgRegDeref, RegOff: ip, ValOff: disp - site.Addr}
	default:
		base, err := x86Reg(regs, parts[0])
		if err != nil {
			return Arg{}, err
		}
		a = Arg{Type: ArgRegDeref, ValOff: disp, RegOff: base}
	}
	if len(parts) == 1 {
		return a, nil
	}
	if len(parts) > 3 {
		return Arg{}, fmt.Errorf("location %q: %w", loc, ErrUnsupported)
	}
	a.Type = ArgSIB
	if a.IdxRegOff, err = x86Reg(regs, parts[1]); err != nil {
		return Arg{}, err
	}
	if len(parts) == 3 {
		switch strings.TrimSpace(parts[2]) {
		case "1":
		case "2":
			a.ScaleShift = 1
		case "4":
			a.ScaleShift = 2
		case "8":
			a.ScaleShift = 3
		default:
			return Arg{}, fmt.Errorf("scale %q is not 1, 2, 4 or 8", parts[2])
		}
	}
	return a, nil
}

// arm64's struct user_pt_regs: regs[31], sp, pc.
const (
	arm64SP = 31 * 8
	arm64PC = 32 * 8
)

func arm64Reg(s string) (uint16, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "sp":
		return arm64SP, nil
	case "pc":
		return arm64PC, nil
	}
	if len(s) > 1 && (s[0] == 'x' || s[0] == 'w') {
		if n, err := strconv.Atoi(s[1:]); err == nil && n >= 0 && n <= 30 {
			return uint16(n * 8), nil
		}
	}
	return 0, fmt.Errorf("register %s: %w", s, ErrUnsupported)
}

// parseArm64 reads an arm64 location: imm, reg, [reg], [reg, off].
func parseArm64(loc string) (Arg, error) {
	if inner, ok := strings.CutPrefix(loc, "["); ok {
		inner, ok = strings.CutSuffix(inner, "]")
		if !ok {
			return Arg{}, fmt.Errorf("location %q: %w", loc, ErrUnsupported)
		}
		regText, offText, hasOff := strings.Cut(inner, ",")
		reg, err := arm64Reg(regText)
		if err != nil {
			return Arg{}, err
		}
		a := Arg{Type: ArgRegDeref, RegOff: reg}
		if hasOff {
			off, err := parseInt(strings.TrimPrefix(strings.TrimSpace(offText), "#"))
			if err != nil {
				return Arg{}, fmt.Errorf("offset: %w", err)
			}
			a.ValOff = uint64(off)
		}
		return a, nil
	}
	if v, err := parseInt(loc); err == nil {
		return Arg{Type: ArgConst, ValOff: uint64(v)}, nil
	}
	reg, err := arm64Reg(loc)
	return Arg{Type: ArgReg, RegOff: reg}, err
}

// Layout is one of the layouts struct __bpf_usdt_spec has had, told
// apart by the size of the spec map's value.
type Layout int

const (
	// LayoutV1 is libbpf up to 1.6: 16-byte argument specs (a 4-byte
	// arg_type), 208-byte specs.
	LayoutV1 Layout = 1
	// LayoutV2 is libbpf 1.7: 24-byte argument specs, arg_type a
	// bitfield beside idx_reg_off and scale_bitshift (for ArgSIB),
	// reg_off moved to 14; 304-byte specs.
	LayoutV2 Layout = 2
)

// Sizes of the layouts.
const (
	SpecSizeV1 = MaxArgs*16 + 16
	SpecSizeV2 = MaxArgs*24 + 16
)

// LayoutOf tells the layout of a spec map from its value size.
func LayoutOf(valueSize uint32) (Layout, error) {
	switch valueSize {
	case SpecSizeV1:
		return LayoutV1, nil
	case SpecSizeV2:
		return LayoutV2, nil
	}
	return 0, fmt.Errorf("a USDT spec map value of %d bytes is neither libbpf's layout up to 1.6 (%d) nor 1.7's (%d)",
		valueSize, SpecSizeV1, SpecSizeV2)
}

// Size is the size of a spec in the layout.
func (l Layout) Size() int {
	if l == LayoutV1 {
		return SpecSizeV1
	}
	return SpecSizeV2
}

// Encode writes s as the layout's struct __bpf_usdt_spec in the byte
// order of the kernel.
func (s Spec) Encode(l Layout, order binary.ByteOrder) ([]byte, error) {
	if len(s.Args) > MaxArgs {
		return nil, fmt.Errorf("%d USDT arguments, more than %d", len(s.Args), MaxArgs)
	}
	argSize := 16
	if l == LayoutV2 {
		argSize = 24
	}
	buf := make([]byte, l.Size())
	for i, a := range s.Args {
		b := buf[i*argSize:]
		order.PutUint64(b, a.ValOff)
		var regOff int
		switch l {
		case LayoutV1:
			if a.Type == ArgSIB {
				return nil, fmt.Errorf("USDT argument %d is scale-index-base addressed, which the program's usdt.bpf.h (libbpf before 1.7) cannot read", i)
			}
			order.PutUint32(b[8:], uint32(a.Type))
			regOff = 12
		case LayoutV2:
			if a.IdxRegOff >= 1<<12 || a.ScaleShift >= 1<<4 {
				return nil, fmt.Errorf("USDT argument %d: index register offset %d or scale shift %d does not fit", i, a.IdxRegOff, a.ScaleShift)
			}
			// enum arg_type:8, __u16 idx_reg_off:12, __u16
			// scale_bitshift:4, __u8 __reserved:8; big-endian
			// targets declare them in the reverse order, and
			// their bitfields fill from the top.
			if order == binary.ByteOrder(binary.BigEndian) {
				b[12] = byte(a.Type)
				order.PutUint16(b[10:], a.IdxRegOff<<4|uint16(a.ScaleShift))
			} else {
				b[8] = byte(a.Type)
				order.PutUint16(b[10:], a.IdxRegOff|uint16(a.ScaleShift)<<12)
			}
			regOff = 14
		default:
			return nil, fmt.Errorf("USDT spec layout %d: %w", l, ErrUnsupported)
		}
		order.PutUint16(b[regOff:], a.RegOff)
		if a.Signed {
			b[regOff+2] = 1
		}
		b[regOff+3] = a.BitShift()
	}
	tail := MaxArgs * argSize
	order.PutUint64(buf[tail:], s.Cookie)
	order.PutUint16(buf[tail+8:], uint16(len(s.Args)))
	return buf, nil
}
