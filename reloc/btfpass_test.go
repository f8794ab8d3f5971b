package reloc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// decodedExtInfo is a program's func_info and line_info with type ids and
// string offsets resolved, for comparing what two BTF encodings say.
type decodedExtInfo struct {
	funcs []string // "insn name linkage"
	lines []string // "insn file:line:col text"
}

func decodeExtInfo(t *testing.T, blob []byte, p *Program) decodedExtInfo {
	t.Helper()
	var d decodedExtInfo
	if len(p.FuncInfo) == 0 && len(p.LineInfo) == 0 {
		return d
	}
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(blob))
	if err != nil {
		t.Fatalf("%s: the kernel's BTF does not decode: %v", p.Name, err)
	}
	bo := binary.NativeEndian
	hdr := uint64(bo.Uint32(blob[4:]))
	strs := blob[hdr+uint64(bo.Uint32(blob[16:])):]
	str := func(off uint32) string {
		s := strs[off:]
		return string(s[:bytes.IndexByte(s, 0)])
	}
	for rec := p.FuncInfo; len(rec) >= 8; rec = rec[p.FuncInfoRecSize:] {
		typ, err := spec.TypeByID(btf.TypeID(bo.Uint32(rec[4:])))
		if err != nil {
			t.Fatalf("%s: func_info type: %v", p.Name, err)
		}
		fn := typ.(*btf.Func)
		d.funcs = append(d.funcs, fmt.Sprintf("%d %s %v", bo.Uint32(rec), fn.Name, fn.Linkage))
	}
	for rec := p.LineInfo; len(rec) >= 16; rec = rec[p.LineInfoRecSize:] {
		lc := bo.Uint32(rec[12:])
		d.lines = append(d.lines, fmt.Sprintf("%d %s:%d:%d %s", bo.Uint32(rec), str(bo.Uint32(rec[4:])), lc>>10, lc&0x3ff, str(bo.Uint32(rec[8:]))))
	}
	return d
}

// mapTypeName is what a map's BTF type id names in blob.
func mapTypeName(t *testing.T, blob []byte, id btf.TypeID) string {
	t.Helper()
	if id == 0 {
		return ""
	}
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(blob))
	if err != nil {
		t.Fatal(err)
	}
	typ, err := spec.TypeByID(id)
	if err != nil {
		t.Fatalf("type %d: %v", id, err)
	}
	size, _ := btf.Sizeof(typ)
	return fmt.Sprintf("%T %s %d", typ, typ.TypeName(), size)
}

// TestPassBTFMatchesFullPath links every object of this repository and of
// cilium/ebpf both ways: with the object's BTF passed through and with it
// decoded and encoded again. Instructions, errors, maps, and what every
// func_info and line_info record says must be the same; only type ids and
// string offsets may differ. The objects this repository's tools stand
// for must take the passthrough. RAWLOAD_CORPUS names a directory of
// more objects (*.o, at any depth) to compare.
func TestPassBTFMatchesFullPath(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "*.o"))
	seedPaths, _ := filepath.Glob(filepath.Join("..", "testdata", "seeds", "*.o"))
	paths = append(append(paths, seedPaths...), peerObjects(t)...)
	// More objects, such as a corpus of real tools built elsewhere.
	if dir := os.Getenv("RAWLOAD_CORPUS"); dir != "" {
		filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && filepath.Ext(path) == ".o" {
				paths = append(paths, path)
			}
			return nil
		})
	}
	mustPass := []string{"tool_sockfilter.o", "tool_xdp_filter.o", "loader.o", "events.o", "hidden.o", "subsections.o", "sizes.o", "reload.o",
		"tool_biolatency.o", "tool_tcpconnect.o", "core.o"}
	// CO-RE objects whose relocations hold no local type id nor compare
	// types behind pointers: their local types are extracted.
	mustExtract := []string{"tool_biolatency.o", "tool_tcpconnect.o", "tool_execsnoop.o", "tiny_core.o"}
	// CO-RE relocations are computed both ways against the running
	// kernel's BTF where it has one (a file read, no bpf(2)).
	var opts LinkOptions
	if vmlinux, err := btf.LoadKernelSpec(); err == nil {
		opts.TargetBTF = func() (*btf.Spec, error) { return vmlinux, nil }
	} else {
		t.Logf("no kernel BTF (%v): CO-RE relocations left unapplied on both paths", err)
	}
	passed, extracted := 0, 0
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(path)
		link := func(full bool) (*Object, error) {
			defer func(was bool) { fullBTFPath = was }(fullBTFPath)
			fullBTFPath = full
			return Link(data, &opts)
		}
		pass, perr := link(false)
		full, ferr := link(true)
		if fmt.Sprint(perr) != fmt.Sprint(ferr) {
			t.Errorf("%s: passthrough: %v; full path: %v", name, perr, ferr)
			continue
		}
		if perr != nil {
			continue
		}
		took := pass.btfPassed
		if took {
			passed++
		} else if slices.Contains(mustPass, name) {
			t.Errorf("%s: not passed through", name)
		}
		if took && slices.Contains(mustPass, name) && (!hasCORE(pass) || pass.coreTypesExtracted) && btfDecoded(pass) {
			t.Errorf("%s: BTF passed through but decoded while linking", name)
		}
		if pass.coreTypesExtracted {
			extracted++
		} else if slices.Contains(mustExtract, name) {
			t.Errorf("%s: CO-RE computed from its whole BTF, not from the local types extracted", name)
		}
		if len(pass.Programs) != len(full.Programs) || len(pass.Maps) != len(full.Maps) {
			t.Errorf("%s: %d programs, %d maps passed through; %d, %d on the full path", name, len(pass.Programs), len(pass.Maps), len(full.Programs), len(full.Maps))
			continue
		}
		for i, pp := range pass.Programs {
			fp := full.Programs[i]
			if pp.Name != fp.Name || !sameInsns(t, pp.Insns, fp.Insns, pass.BTF, full.BTF) || fmt.Sprint(pp.Err) != fmt.Sprint(fp.Err) {
				t.Errorf("%s: program %s differs between the paths (%v / %v)", name, pp.Name, pp.Err, fp.Err)
				continue
			}
			pd, fd := decodeExtInfo(t, pass.BTF, pp), decodeExtInfo(t, full.BTF, fp)
			if !slices.Equal(pd.funcs, fd.funcs) {
				t.Errorf("%s: %s: func_info %v passed through, %v on the full path", name, pp.Name, pd.funcs, fd.funcs)
			}
			if !slices.Equal(pd.lines, fd.lines) {
				t.Errorf("%s: %s: line_info differs: %d records passed through, %d on the full path", name, pp.Name, len(pd.lines), len(fd.lines))
			}
		}
		for i, pm := range pass.Maps {
			fm := full.Maps[i]
			if pd, fd := describeMap(pm), describeMap(fm); pd != fd {
				t.Errorf("%s: map passed through:\n%s\non the full path:\n%s", name, pd, fd)
			}
			if pk, fk := mapTypeName(t, pass.BTF, pm.BTFKey), mapTypeName(t, full.BTF, fm.BTFKey); pk != fk {
				t.Errorf("%s: map %s key %q passed through, %q on the full path", name, pm.Name, pk, fk)
			}
			if pv, fv := mapTypeName(t, pass.BTF, pm.BTFValue), mapTypeName(t, full.BTF, fm.BTFValue); pv != fv {
				t.Errorf("%s: map %s value %q passed through, %q on the full path", name, pm.Name, pv, fv)
			}
		}
		if len(pass.Variables) != len(full.Variables) {
			t.Errorf("%s: %d variables passed through, %d on the full path", name, len(pass.Variables), len(full.Variables))
			continue
		}
		for i, pv := range pass.Variables {
			fv := full.Variables[i]
			pd := fmt.Sprint(pv.Name, pv.Section, pv.Map, pv.Offset, pv.Size, describeType(pv.Type()))
			fd := fmt.Sprint(fv.Name, fv.Section, fv.Map, fv.Offset, fv.Size, describeType(fv.Type()))
			if pd != fd {
				t.Errorf("%s: variable %s passed through, %s on the full path", name, pd, fd)
			}
		}
	}
	t.Logf("%d of %d objects passed their BTF through, %d of them with their CO-RE local types extracted", passed, len(paths), extracted)
}

// sameInsns compares the instructions of a program linked both ways.
// Where they differ, both must hold a local type id
// (bpf_core_type_id_local), each naming the same type in its own BTF.
func sameInsns(t *testing.T, a, b, btfA, btfB []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for off := 0; off < len(a); off += 8 {
		x, y := a[off:off+8], b[off:off+8]
		if bytes.Equal(x, y) {
			continue
		}
		if !bytes.Equal(x[:4], y[:4]) {
			return false
		}
		idA, idB := btf.TypeID(binary.LittleEndian.Uint32(x[4:])), btf.TypeID(binary.LittleEndian.Uint32(y[4:]))
		if mapTypeName(t, btfA, idA) != mapTypeName(t, btfB, idB) {
			return false
		}
	}
	return true
}

func hasCORE(obj *Object) bool {
	return slices.ContainsFunc(obj.Programs, func(p *Program) bool { return p.CORE > 0 })
}

// btfDecoded reports whether linking decoded the BTF it passed through:
// the objects of tools need only type ids from it.
func btfDecoded(obj *Object) bool {
	for _, m := range obj.Maps {
		for _, r := range []typeRef{m.key, m.value} {
			if r.lazy != nil && (r.lazy.spec != nil || r.lazy.err != nil) {
				return true
			}
		}
	}
	for _, v := range obj.Variables {
		if v.typ.lazy != nil && (v.typ.lazy.spec != nil || v.typ.lazy.err != nil) {
			return true
		}
	}
	return false
}

// describeMap says everything a map's spec holds but its BTF ids, which
// differ between the paths: its types by kind, name and size.
func describeMap(m *MapSpec) string {
	if m == nil {
		return "none"
	}
	return fmt.Sprintf("%s %s %v type=%d key=%d value=%d max=%d flags=%#x numa=%d extra=%d pin=%d freeze=%v contents=%x values=%v values@%d(%v) key=%s value=%s err=%v\n  inner: %s",
		m.Name, m.Section, m.Source, m.Type, m.KeySize, m.ValueSize, m.MaxEntries, m.Flags, m.NumaNode, m.MapExtra, m.Pinning, m.Freeze,
		m.Contents, m.Values, m.valuesOffset, m.hasValues, describeType(m.KeyType()), describeType(m.ValueType()), m.Err, describeMap(m.Inner))
}

func describeType(typ btf.Type) string {
	if typ == nil {
		return "none"
	}
	size, _ := btf.Sizeof(typ)
	return fmt.Sprintf("%T %s %d", typ, typ.TypeName(), size)
}
