package ldimm64

import (
	"bytes"
	"debug/elf"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Objects compiled by cilium/ebpf from the same C source for both byte
// orders; between them they hold map, global-data, constant and kfunc/ksym
// load-imm64 instructions.
var peerObjects = []string{
	"testdata/loader-clang-22",
	"testdata/constants",
	"testdata/strings",
	"testdata/ksym",
	"testdata/manyprogs",
	"btf/testdata/relocs",
}

func ciliumDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/cilium/ebpf").Output()
	if err != nil {
		t.Fatalf("locate cilium/ebpf module: %v", err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		t.Fatal("locate cilium/ebpf module: go list printed no directory")
	}
	return dir
}

// sectionInsns returns every load-imm64 in the executable sections of an
// object, keyed by section name, after checking that each one re-encodes to
// the exact bytes it was decoded from.
func sectionInsns(t *testing.T, path string) map[string][]Insn {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	found := make(map[string][]Insn)
	for _, sec := range f.Sections {
		if sec.Type != elf.SHT_PROGBITS || sec.Flags&elf.SHF_EXECINSTR == 0 {
			continue
		}
		data, err := sec.Data()
		if err != nil {
			t.Fatalf("%s: section %s: %v", path, sec.Name, err)
		}
		for off := 0; off+8 <= len(data); {
			if !IsLoadImm64(data[off:]) {
				off += 8
				continue
			}
			raw := data[off:]
			ins, err := Decode(raw, f.ByteOrder)
			if err != nil {
				t.Fatalf("%s: section %s offset %d: %v", path, sec.Name, off, err)
			}
			var buf [Size]byte
			if err := Encode(buf[:], f.ByteOrder, ins); err != nil {
				t.Fatalf("%s: section %s offset %d: Encode(%+v): %v", path, sec.Name, off, ins, err)
			}
			if !bytes.Equal(buf[:], raw[:Size]) {
				t.Fatalf("%s: section %s offset %d: Encode(Decode(x)) =\n% x\nwant\n% x", path, sec.Name, off, buf, raw[:Size])
			}
			found[sec.Name] = append(found[sec.Name], ins)
			off += Size
		}
	}
	return found
}

func TestPeerObjectsRoundTrip(t *testing.T) {
	dir := ciliumDir(t)
	for _, obj := range peerObjects {
		t.Run(filepath.Base(obj), func(t *testing.T) {
			el := sectionInsns(t, filepath.Join(dir, obj+"-el.elf"))
			eb := sectionInsns(t, filepath.Join(dir, obj+"-eb.elf"))

			total, nonzeroDst := 0, 0
			for sec, insns := range el {
				total += len(insns)
				for _, ins := range insns {
					if ins.Dst > 10 {
						t.Errorf("%s: dst r%d is not a BPF register", sec, ins.Dst)
					}
					if ins.Dst != 0 {
						nonzeroDst++
					}
				}
			}
			if total == 0 {
				t.Fatalf("%s has no load-imm64 instruction; pick another object", obj)
			}
			// Clang emits the same instructions for either byte order, so a
			// decode that swapped the register nibbles or the immediate
			// halves for one order would disagree with the other.
			if nonzeroDst == 0 {
				t.Fatalf("%s: every lddw loads r0, so the register nibble order goes untested", obj)
			}
			if len(el) != len(eb) {
				t.Fatalf("sections with lddw: %d little-endian, %d big-endian", len(el), len(eb))
			}
			for sec, want := range el {
				got := eb[sec]
				if len(got) != len(want) {
					t.Fatalf("%s: %d lddw big-endian, %d little-endian", sec, len(got), len(want))
				}
				for i := range want {
					if got[i] != want[i] {
						t.Errorf("%s: lddw #%d decodes to %+v big-endian, %+v little-endian", sec, i, got[i], want[i])
					}
				}
			}
			t.Logf("%d load-imm64 instructions in %d sections", total, len(el))
		})
	}
}
