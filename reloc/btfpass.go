package reloc

import (
	"bytes"
	"encoding/binary"
	"slices"

	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"

	"github.com/rawload/rawload/elf"
)

// passBTF is the object's .BTF handed to the kernel as it is, libbpf's
// way, for an object that needs no rewriting of it: in native byte order,
// for a kernel that takes every kind it holds, with no extern functions
// or variables. CO-RE relocations change instructions, not the BTF: an
// object with them has its types decoded as well, to compute them. Only what the compiler leaves
// for the loader is filled in, in place: the sizes of data sections and
// the offsets of their variables (from the ELF), and hidden global
// functions made static. func_info and line_info are the .BTF.ext
// records moved to where each function lands, their type ids and string
// offsets already those of the blob. Decoding the whole BTF with its ext
// infos and encoding it again costs more than the rest of linking
// together; here map definitions and global variables are read from the
// blob by type id (btfraw.go, mapdef.go), and cilium/ebpf decodes it only
// when someone asks for a type (typeref.go).
type passBTF struct {
	blob     []byte   // the kernel's copy: Object.BTF
	strs     []byte   // its string section
	typeOffs []uint32 // offset in blob of each type by id; [0] unused
	// lazy decodes blob for whoever wants the types themselves.
	lazy *lazySpec
	// datasecs are the data sections' type ids by name, 0 for a name
	// that more than one has.
	datasecs map[string]uint32
	ext      map[string]*rawSectionExt
	// core says the object has CO-RE relocations: they are read, and
	// computed, from the decoded types, which then also serve as lazy's.
	core bool
}

// rawSectionExt holds one ELF section's .BTF.ext records, offsets in
// instructions from the section's start, in the order they appear.
type rawSectionExt struct {
	funcs []rawRecord
	lines []rawRecord
}

// rawRecord is a func_info (insn, type id) or line_info (insn, file name
// offset, line offset, line and column) record.
type rawRecord struct {
	insn uint32
	rest [3]uint32
}

// BTF kinds and linkages the passthrough reads.
const (
	btfKindInt      = 1
	btfKindArray    = 3
	btfKindStruct   = 4
	btfKindUnion    = 5
	btfKindEnum     = 6
	btfKindFunc     = 12
	btfKindFuncProt = 13
	btfKindVar      = 14
	btfKindDatasec  = 15
	btfKindDeclTag  = 17
	btfKindEnum64   = 19

	btfLinkageStatic = 0
	btfLinkageGlobal = 1
	btfLinkageExtern = 2

	btfHeaderLen  = 24
	btfTypeLen    = 12
	btfExtHdrBase = 24
)

// newPassBTF returns the passthrough BTF of the object, or nil when it
// needs what only decoding and encoding it again give: then nothing is
// said about why, and the full path decides, with its own errors.
func (l *linker) newPassBTF(raw []byte) *passBTF {
	if !nativeOrder(l.file.ByteOrder) || !marshalsAsIs(l.opts.MarshalBTF) {
		return nil
	}
	ext, core, ok := l.rawExtInfos(raw)
	if !ok {
		return nil
	}
	bo := binary.NativeEndian
	if len(raw) < btfHeaderLen || bo.Uint16(raw) != 0xeb9f {
		return nil
	}
	hdrLen := uint64(bo.Uint32(raw[4:]))
	typeOff, typeLen := uint64(bo.Uint32(raw[8:])), uint64(bo.Uint32(raw[12:]))
	strOff, strLen := uint64(bo.Uint32(raw[16:])), uint64(bo.Uint32(raw[20:]))
	if hdrLen < btfHeaderLen || hdrLen > uint64(len(raw)) || typeLen == 0 ||
		hdrLen+typeOff+typeLen > uint64(len(raw)) || hdrLen+strOff+strLen > uint64(len(raw)) {
		return nil
	}
	p := &passBTF{blob: bytes.Clone(raw), typeOffs: []uint32{0}, ext: ext, core: core}
	p.strs = p.blob[hdrLen+strOff : hdrLen+strOff+strLen]
	p.lazy = &lazySpec{blob: p.blob}
	types := p.blob[hdrLen+typeOff : hdrLen+typeOff+typeLen]
	var datasecs []uint32
	for at := uint64(0); at < uint64(len(types)); {
		if at+btfTypeLen > uint64(len(types)) {
			return nil
		}
		info := bo.Uint32(types[at+4:])
		kind, vlen := info>>24&0x1f, uint64(info&0xffff)
		var extra uint64
		switch kind {
		case btfKindInt, btfKindVar, btfKindDeclTag:
			extra = 4
		case btfKindArray:
			extra = 12
		case btfKindStruct, btfKindUnion, btfKindDatasec, btfKindEnum64:
			extra = vlen * 12
		case btfKindEnum, btfKindFuncProt:
			extra = vlen * 8
		case 2, 7, 8, 9, 10, 11, btfKindFunc, 16, 18:
		default:
			return nil
		}
		if extra > uint64(len(types))-at-btfTypeLen {
			return nil
		}
		switch kind {
		case btfKindFunc:
			if vlen == btfLinkageExtern {
				return nil
			}
		case btfKindVar:
			if bo.Uint32(types[at+btfTypeLen:]) == btfLinkageExtern {
				return nil
			}
		case btfKindDatasec:
			datasecs = append(datasecs, uint32(len(p.typeOffs)))
		}
		p.typeOffs = append(p.typeOffs, uint32(hdrLen+typeOff+at))
		at += btfTypeLen + extra
	}
	p.datasecs = make(map[string]uint32, len(datasecs))
	for _, id := range datasecs {
		if !p.fixDatasec(l, id) {
			return nil
		}
		secName, ok := p.name(bo.Uint32(p.blob[p.typeOffs[id]:]))
		if !ok {
			return nil
		}
		if _, dup := p.datasecs[secName]; dup {
			id = 0
		}
		p.datasecs[secName] = id
	}
	for _, recs := range ext {
		for _, r := range recs.funcs {
			if uint64(r.rest[0]) >= uint64(len(p.typeOffs)) || r.rest[0] == 0 || p.kind(r.rest[0]) != btfKindFunc {
				return nil
			}
		}
		for _, r := range recs.lines {
			if uint64(r.rest[0]) >= strLen || uint64(r.rest[1]) >= strLen {
				return nil
			}
		}
	}
	return p
}

func (p *passBTF) kind(id uint32) uint32 {
	return binary.NativeEndian.Uint32(p.blob[p.typeOffs[id]+4:]) >> 24 & 0x1f
}

// fixDatasec gives a data section the compiler left unsized its ELF
// section's size and its variables their symbols' offsets, as the kernel
// needs them. .ksyms and .kconfig have no section; an object with them
// has externs and never gets here, nor does one whose section or symbol
// is missing.
func (p *passBTF) fixDatasec(l *linker, id uint32) bool {
	bo := binary.NativeEndian
	t := p.blob[p.typeOffs[id]:]
	if bo.Uint32(t[8:]) != 0 {
		return true
	}
	secName, ok := p.name(bo.Uint32(t))
	if !ok {
		return false
	}
	sec := l.file.Section(secName)
	if sec == nil || sec.Size > 1<<32-1 {
		return false
	}
	bo.PutUint32(t[8:], uint32(sec.Size))
	syms := l.sectionSymbols(sec)
	vlen := bo.Uint32(t[4:]) & 0xffff
	for i := range vlen {
		vsi := t[btfTypeLen+12*i:]
		varID := bo.Uint32(vsi)
		if varID == 0 || uint64(varID) >= uint64(len(p.typeOffs)) || p.kind(varID) != btfKindVar {
			return false
		}
		varName, ok := p.name(bo.Uint32(p.blob[p.typeOffs[varID]:]))
		if !ok {
			return false
		}
		at := slices.IndexFunc(syms, func(s elf.Symbol) bool { return s.Name == varName })
		if at < 0 || syms[at].Value > 1<<32-1 {
			return false
		}
		bo.PutUint32(vsi[4:], uint32(syms[at].Value))
	}
	return true
}

// datasec finds the data section type called name as TypeByName would,
// without the index of every name that TypeByName builds: found
// reports whether there is one (an error, then, is the decoder's). A
// name that no data section or more than one has is left to TypeByName,
// for its errors, unless absent is fine with the caller.
func (l *linker) datasec(name string, absentOK bool) (ds *btf.Datasec, found bool, err error) {
	if l.pass != nil {
		id, ok := l.pass.datasecs[name]
		switch {
		case ok && id != 0:
			spec, err := l.types()
			if err != nil {
				return nil, false, err
			}
			typ, err := spec.TypeByID(btf.TypeID(id))
			if err != nil {
				return nil, false, err
			}
			return typ.(*btf.Datasec), true, nil
		case !ok && absentOK:
			return nil, false, nil
		}
	}
	spec, err := l.types()
	if spec == nil {
		return nil, false, err
	}
	if err := spec.TypeByName(name, &ds); err != nil {
		return nil, false, err
	}
	return ds, true, nil
}

// types is the object's decoded BTF, nil without BTF. An object whose
// BTF passes through has it decoded here, the first time it is needed.
func (l *linker) types() (*btf.Spec, error) {
	if l.spec == nil && l.pass != nil {
		return l.pass.lazy.get()
	}
	return l.spec, nil
}

// makeStatic gives a global function of the blob static linkage, as
// funcInfo does on the full path.
func (p *passBTF) makeStatic(id uint32) {
	t := p.blob[p.typeOffs[id]:]
	info := binary.NativeEndian.Uint32(t[4:])
	if info&0xffff == btfLinkageGlobal {
		binary.NativeEndian.PutUint32(t[4:], info&^0xffff|btfLinkageStatic)
	}
}

// rawExtInfos reads the func_info and line_info records of .BTF.ext by
// section name, and says whether it also has CO-RE relocations, which
// are read from the decoded types. It fails for anything it cannot read
// whole.
func (l *linker) rawExtInfos(btfRaw []byte) (ext map[string]*rawSectionExt, core, ok bool) {
	ext = make(map[string]*rawSectionExt)
	sec := l.file.Section(".BTF.ext")
	if sec == nil {
		return ext, false, true
	}
	bo, data := binary.NativeEndian, sec.Data
	if len(data) < btfExtHdrBase || bo.Uint16(data) != 0xeb9f {
		return nil, false, false
	}
	hdrLen := uint64(bo.Uint32(data[4:]))
	if hdrLen < btfExtHdrBase || hdrLen > uint64(len(data)) {
		return nil, false, false
	}
	core = hdrLen >= 32 && bo.Uint32(data[28:]) != 0
	if len(btfRaw) < btfHeaderLen {
		return nil, false, false
	}
	strOff, strLen := uint64(bo.Uint32(btfRaw[16:])), uint64(bo.Uint32(btfRaw[20:]))
	btfHdr := uint64(bo.Uint32(btfRaw[4:]))
	if btfHdr+strOff+strLen > uint64(len(btfRaw)) {
		return nil, false, false
	}
	strs := btfRaw[btfHdr+strOff : btfHdr+strOff+strLen]
	read := func(off, size uint64, minRec uint64, list func(*rawSectionExt) *[]rawRecord) bool {
		if size == 0 {
			return true
		}
		if hdrLen+off+size > uint64(len(data)) || size < 4 {
			return false
		}
		recs := data[hdrLen+off : hdrLen+off+size]
		recSize := uint64(bo.Uint32(recs))
		if recSize < minRec || recSize%4 != 0 {
			return false
		}
		for p := uint64(4); p < uint64(len(recs)); {
			if p+8 > uint64(len(recs)) {
				return false
			}
			nameOff, count := uint64(bo.Uint32(recs[p:])), uint64(bo.Uint32(recs[p+4:]))
			p += 8
			if count*recSize > uint64(len(recs))-p || nameOff >= uint64(len(strs)) {
				return false
			}
			end := bytes.IndexByte(strs[nameOff:], 0)
			if end < 0 {
				return false
			}
			secName := strs[nameOff : nameOff+uint64(end)]
			s := ext[string(secName)]
			if s == nil {
				s = &rawSectionExt{}
				ext[string(secName)] = s
			}
			recList := list(s)
			*recList = slices.Grow(*recList, int(count))
			for i := range count {
				rec := recs[p+i*recSize:]
				insnOff := bo.Uint32(rec)
				if insnOff%insnSize != 0 {
					return false
				}
				r := rawRecord{insn: insnOff / insnSize}
				for k := uint64(0); k < minRec/4-1; k++ {
					r.rest[k] = bo.Uint32(rec[4+4*k:])
				}
				*recList = append(*recList, r)
			}
			p += count * recSize
		}
		return true
	}
	ok = read(uint64(bo.Uint32(data[8:])), uint64(bo.Uint32(data[12:])), uint64(btf.FuncInfoSize),
		func(s *rawSectionExt) *[]rawRecord { return &s.funcs }) &&
		read(uint64(bo.Uint32(data[16:])), uint64(bo.Uint32(data[20:])), uint64(btf.LineInfoSize),
			func(s *rawSectionExt) *[]rawRecord { return &s.lines })
	return ext, core, ok
}

// nativeOrder reports whether bo is the host's byte order.
func nativeOrder(bo binary.ByteOrder) bool {
	probe := []byte{1, 0}
	return bo.Uint16(probe) == binary.NativeEndian.Uint16(probe)
}

// marshalsAsIs reports whether marshaling with opts keeps the object's
// BTF as the compiler wrote it: native byte order, nothing replaced.
func marshalsAsIs(opts *btf.MarshalOptions) bool {
	if opts == nil {
		return true
	}
	return (opts.Order == nil || nativeOrder(opts.Order)) &&
		!opts.StripFuncLinkage && !opts.ReplaceDeclTags && !opts.ReplaceTypeTags && !opts.ReplaceEnum64
}

// rawFuncExt holds one function's records, offsets from its start.
type rawFuncExt struct {
	funcs, lines []rawRecord
}

// functionRawExt returns fn's records, splitting those of its section
// among the section's functions on the first call for any of them, as
// functionExtInfos does on the full path.
func (l *linker) functionRawExt(fn *function) *rawFuncExt {
	if fn.rawExt != nil {
		return fn.rawExt
	}
	fns := l.functionsOf(fn.section)
	exts := make([]rawFuncExt, len(fns))
	for i, f := range fns {
		f.rawExt = &exts[i]
	}
	recs := l.pass.ext[fn.section.Name]
	if recs == nil {
		return fn.rawExt
	}
	// Count, then fill one array per kind for the whole section.
	split := func(all []rawRecord, list func(*rawFuncExt) *[]rawRecord) {
		counts := make([]int, len(fns))
		for _, r := range all {
			if f := containingIndex(fns, uint64(r.insn)*insnSize); f >= 0 {
				counts[f]++
			}
		}
		backing := make([]rawRecord, 0, len(all))
		for i := range exts {
			*list(&exts[i]) = backing[len(backing) : len(backing) : len(backing)+counts[i]]
			backing = backing[:len(backing)+counts[i]]
		}
		for _, r := range all {
			if f := containingIndex(fns, uint64(r.insn)*insnSize); f >= 0 {
				r.insn -= uint32(fns[f].key.insn)
				recs := list(&exts[f])
				*recs = append(*recs, r)
			}
		}
	}
	split(recs.funcs, func(e *rawFuncExt) *[]rawRecord { return &e.funcs })
	split(recs.lines, func(e *rawFuncExt) *[]rawRecord { return &e.lines })
	return fn.rawExt
}

// attachRawExtInfos gives a linked program its func_info and line_info
// from the raw records of its functions: one record of each kind per
// instruction at most (the last of several at one offset), none on the
// second half of an ld_imm64, sorted by instruction.
func (l *linker) attachRawExtInfos(prog *Program, layout []placed) {
	slots := uint64(len(prog.Insns)) / insnSize
	second := make([]bool, slots)
	for off := uint64(0); off < slots; off++ {
		if asm.OpCode(prog.Insns[off*insnSize]) == asm.LoadImmOp(asm.DWord) && off+1 < slots {
			second[off+1] = true
			off++
		}
	}
	var nFuncs, nLines int
	for _, p := range layout {
		ext := l.functionRawExt(p.fn)
		nFuncs, nLines = nFuncs+len(ext.funcs), nLines+len(ext.lines)
	}
	funcs, lines := make([]rawRecord, 0, nFuncs), make([]rawRecord, 0, nLines)
	for _, p := range layout {
		ext := l.functionRawExt(p.fn)
		moved := func(r rawRecord) (rawRecord, bool) {
			at := uint64(r.insn) + p.start
			if at >= slots || second[at] {
				return r, false
			}
			r.insn = uint32(at)
			return r, true
		}
		for _, r := range ext.funcs {
			if r, ok := moved(r); ok {
				if p.fn.hidden && p.start != 0 {
					l.pass.makeStatic(r.rest[0])
				}
				funcs = append(funcs, r)
			}
		}
		for _, r := range ext.lines {
			if r, ok := moved(r); ok {
				lines = append(lines, r)
			}
		}
	}
	prog.FuncInfo = encodeRecords(lastPerInsn(funcs), 1)
	prog.LineInfo = encodeRecords(lastPerInsn(lines), 3)
	prog.FuncInfoRecSize, prog.LineInfoRecSize = btf.FuncInfoSize, btf.LineInfoSize
}

// lastPerInsn sorts records by instruction and keeps the last of those
// at one instruction.
func lastPerInsn(recs []rawRecord) []rawRecord {
	slices.SortStableFunc(recs, func(a, b rawRecord) int { return int(a.insn) - int(b.insn) })
	out := recs[:0]
	for _, r := range recs {
		if n := len(out); n > 0 && out[n-1].insn == r.insn {
			out[n-1] = r
			continue
		}
		out = append(out, r)
	}
	return out
}

// encodeRecords writes records of 1+fields words in native byte order.
func encodeRecords(recs []rawRecord, fields int) []byte {
	if len(recs) == 0 {
		return nil
	}
	out := make([]byte, 0, len(recs)*4*(1+fields))
	for _, r := range recs {
		out = binary.NativeEndian.AppendUint32(out, r.insn)
		for k := range fields {
			out = binary.NativeEndian.AppendUint32(out, r.rest[k])
		}
	}
	return out
}
