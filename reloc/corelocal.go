package reloc

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/cilium/ebpf/btf"

	"github.com/rawload/rawload/internal/rawbtf"
)

// coreLocal holds the local types of an object's CO-RE relocations when
// its BTF passes through: the types the relocations name and what they
// refer to, with a struct or union reached only through a pointer kept as
// a shell (name, kind and size), copied out of the object's BTF and
// decoded on their own. A tracing tool's BTF carries the vmlinux.h types
// it uses; decoding a relocation's `struct sock` in full would decode
// everything its pointers reach, most of that BTF, for offsets that never
// go through a pointer. This is the rule the CO-RE target follows on the
// kernel's side (internal/kernel CORETarget).
type coreLocal struct {
	raw  *rawbtf.BTF // the object's BTF: names by original id
	spec *btf.Spec   // the extracted types
	ids  []uint32    // original ids, ascending: extracted id i is ids[i-1]
}

// CO-RE relocation kinds (enum bpf_core_relo_kind) whose fixups hold a
// local type id, or compare types behind pointers: their objects decode
// their BTF whole.
const (
	coreTypeIDLocal = 6
	// coreTypeIDTarget and coreTypeMatches: coretypes.go.
)

// coreReloRecordSize is the size of a bpf_core_relo record. Another size
// is left to cilium/ebpf's reading of the whole BTF, which words the
// error.
const coreReloRecordSize = 16

// loadCORELocal sets l.coreLocal and l.ext (holding only the CO-RE
// relocations) from the .BTF section data and .BTF.ext. It reports false,
// having set nothing, for anything it does not take: the caller then
// decodes the whole BTF, which also words the errors.
func (l *linker) loadCORELocal(btfData []byte) bool {
	sec := l.file.Section(".BTF.ext")
	bo := binary.NativeEndian // the pass path is the host's byte order
	if sec == nil || !nativeOrder(l.file.ByteOrder) {
		return false
	}
	relos, ok := coreReloSubsection(sec.Data, bo)
	if !ok {
		return false
	}
	raw, err := rawbtf.Parse(btfData)
	if err != nil {
		return false
	}
	// Roots and strings of every record; the records themselves are
	// copied below with their ids and strings renumbered.
	var roots, strs []uint32
	ok = eachCORESection(relos, bo, func(nameOff uint32, recs []byte) bool {
		strs = append(strs, nameOff)
		for rec := recs; len(rec) > 0; rec = rec[coreReloRecordSize:] {
			id, access, kind := bo.Uint32(rec[4:]), bo.Uint32(rec[8:]), bo.Uint32(rec[12:])
			switch {
			case kind == coreTypeIDLocal || kind == coreTypeIDTarget || kind == coreTypeMatches,
				id == 0 || id >= raw.Count():
				return false
			}
			roots = append(roots, id)
			strs = append(strs, access)
		}
		return true
	})
	if !ok || len(roots) == 0 {
		return false
	}
	for _, off := range strs {
		if _, ok := raw.String(off); !ok {
			return false
		}
	}
	ids, shells, err := raw.Closure(roots)
	if err != nil {
		return false
	}
	// With the section names and access strings the records name.
	extracted := raw.Extract(ids, shells, strs)
	newStr := func(old uint32) uint32 {
		off, _ := extracted.StringOffset(old)
		return off
	}

	ext := make([]byte, len(relos))
	copy(ext, relos)
	eachCORESection(ext, bo, func(nameOff uint32, recs []byte) bool {
		for rec := recs; len(rec) > 0; rec = rec[coreReloRecordSize:] {
			bo.PutUint32(rec[4:], rawbtf.NewID(ids, bo.Uint32(rec[4:])))
			bo.PutUint32(rec[8:], newStr(bo.Uint32(rec[8:])))
		}
		return true
	})
	// Name offsets of the sections: the 4 bytes before each count.
	renameCORESections(ext, bo, newStr)

	spec, extInfos, err := btf.LoadSpecAndExtInfosFromReader(bytes.NewReader(btfObject(extracted.Blob, coreOnlyExt(ext, bo), bo)))
	if err != nil || extInfos == nil {
		return false
	}
	l.coreLocal = &coreLocal{raw: raw, spec: spec, ids: ids}
	l.ext = extInfos
	return true
}

// originalID gives a type of the extracted local types its id in the
// object's BTF.
func (c *coreLocal) originalID(typ btf.Type) (btf.TypeID, error) {
	id, err := c.spec.TypeID(typ)
	if err != nil {
		return 0, err
	}
	if id == 0 || int(id) > len(c.ids) {
		return 0, fmt.Errorf("type %s: extracted id %d out of range", typ, id)
	}
	return btf.TypeID(c.ids[id-1]), nil
}

// typeName is the name of the object's type id, false for an id the BTF
// does not have.
func (c *coreLocal) typeName(id btf.TypeID) (string, bool) {
	if id == 0 || uint32(id) >= c.raw.Count() {
		return "", false
	}
	return string(c.raw.TypeName(uint32(id))), true
}

// coreReloSubsection returns the core_relo subsection of .BTF.ext: its
// record size, then per ELF section a name offset, a count and the
// records. ok is false if there is none or it is not laid out as
// expected.
func coreReloSubsection(data []byte, bo binary.ByteOrder) (relos []byte, ok bool) {
	if len(data) < 32 || bo.Uint16(data) != 0xeb9f {
		return nil, false
	}
	hdrLen := uint64(bo.Uint32(data[4:]))
	if hdrLen < 32 || hdrLen > uint64(len(data)) {
		return nil, false
	}
	off, size := uint64(bo.Uint32(data[24:])), uint64(bo.Uint32(data[28:]))
	if size < 4 || hdrLen+off+size > uint64(len(data)) {
		return nil, false
	}
	relos = data[hdrLen+off : hdrLen+off+size]
	if bo.Uint32(relos) != coreReloRecordSize {
		return nil, false
	}
	// The layout must hold whole.
	return relos, eachCORESection(relos, bo, func(uint32, []byte) bool { return true })
}

// eachCORESection calls f with each section's name offset and records,
// until f returns false; it reports false if f did or the layout does not
// hold.
func eachCORESection(relos []byte, bo binary.ByteOrder, f func(nameOff uint32, recs []byte) bool) bool {
	for p := uint64(4); p < uint64(len(relos)); {
		if p+8 > uint64(len(relos)) {
			return false
		}
		nameOff, count := bo.Uint32(relos[p:]), uint64(bo.Uint32(relos[p+4:]))
		p += 8
		if count > (uint64(len(relos))-p)/coreReloRecordSize {
			return false
		}
		if !f(nameOff, relos[p:p+count*coreReloRecordSize]) {
			return false
		}
		p += count * coreReloRecordSize
	}
	return true
}

// renameCORESections moves each section's name offset to its new place.
func renameCORESections(relos []byte, bo binary.ByteOrder, newStr func(uint32) uint32) {
	for p := uint64(4); p+8 <= uint64(len(relos)); {
		bo.PutUint32(relos[p:], newStr(bo.Uint32(relos[p:])))
		p += 8 + uint64(bo.Uint32(relos[p+4:]))*coreReloRecordSize
	}
}

// coreOnlyExt is a .BTF.ext holding relos as its core_relo subsection
// and func_info and line_info subsections with no records.
func coreOnlyExt(relos []byte, bo binary.ByteOrder) []byte {
	const hdrLen = 32
	out := make([]byte, hdrLen+8, hdrLen+8+len(relos))
	bo.PutUint16(out, 0xeb9f)
	out[2] = 1 // version
	bo.PutUint32(out[4:], hdrLen)
	bo.PutUint32(out[8:], 0)  // func_info_off
	bo.PutUint32(out[12:], 4) // func_info_len: the record size alone
	bo.PutUint32(out[16:], 4) // line_info_off
	bo.PutUint32(out[20:], 4) // line_info_len
	bo.PutUint32(out[24:], 8) // core_relo_off
	bo.PutUint32(out[28:], uint32(len(relos)))
	bo.PutUint32(out[hdrLen:], uint32(btf.FuncInfoSize))
	bo.PutUint32(out[hdrLen+4:], uint32(btf.LineInfoSize))
	return append(out, relos...)
}

// btfObject is an ELF relocatable object of the byte order bo holding
// .BTF and .BTF.ext and an empty symbol table: what cilium/ebpf reads
// BTF with ext infos from.
func btfObject(btfData, ext []byte, bo binary.ByteOrder) []byte {
	const (
		ehdrSize   = 64
		shdrSize   = 64
		symSize    = 24
		shtProgbit = 1
		shtSymtab  = 2
		shtStrtab  = 3
	)
	shstrtab := []byte("\x00.shstrtab\x00.BTF\x00.BTF.ext\x00.symtab\x00.strtab\x00")
	type section struct {
		name, typ  uint32
		data       []byte
		link, info uint32
		entSize    uint64
	}
	sections := []section{
		{},
		{name: 1, typ: shtStrtab, data: shstrtab},
		{name: 11, typ: shtProgbit, data: btfData},
		{name: 16, typ: shtProgbit, data: ext},
		{name: 25, typ: shtSymtab, data: make([]byte, symSize), link: 5, info: 1, entSize: symSize},
		{name: 33, typ: shtStrtab, data: []byte{0}},
	}
	size := ehdrSize
	for _, s := range sections {
		size += (len(s.data) + 7) &^ 7
	}
	out := make([]byte, ehdrSize, size+len(sections)*shdrSize)
	copy(out, "\x7fELF")
	out[4] = 2 // ELFCLASS64
	out[5] = 1 // ELFDATA2LSB
	if bo.Uint16([]byte{0, 1}) == 1 {
		out[5] = 2 // ELFDATA2MSB
	}
	out[6] = 1                  // EV_CURRENT
	bo.PutUint16(out[16:], 1)   // ET_REL
	bo.PutUint16(out[18:], 247) // EM_BPF
	bo.PutUint32(out[20:], 1)   // EV_CURRENT
	bo.PutUint16(out[52:], ehdrSize)
	bo.PutUint16(out[58:], shdrSize)
	bo.PutUint16(out[60:], uint16(len(sections)))
	bo.PutUint16(out[62:], 1) // .shstrtab
	offsets := make([]uint64, len(sections))
	for i, s := range sections {
		offsets[i] = uint64(len(out))
		out = append(out, s.data...)
		for len(out)%8 != 0 {
			out = append(out, 0)
		}
	}
	bo.PutUint64(out[40:], uint64(len(out))) // e_shoff
	for i, s := range sections {
		var sh [shdrSize]byte
		if i > 0 {
			bo.PutUint32(sh[0:], s.name)
			bo.PutUint32(sh[4:], s.typ)
			bo.PutUint64(sh[24:], offsets[i])
			bo.PutUint64(sh[32:], uint64(len(s.data)))
			bo.PutUint32(sh[40:], s.link)
			bo.PutUint32(sh[44:], s.info)
			bo.PutUint64(sh[48:], 8)
			bo.PutUint64(sh[56:], s.entSize)
		}
		out = append(out, sh[:]...)
	}
	return out
}
