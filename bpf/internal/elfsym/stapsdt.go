package elfsym

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io"
)

// Names of the SystemTap SDT (USDT) probe notes, as <sys/sdt.h> emits them.
const (
	stapsdtSection     = ".note.stapsdt"
	stapsdtBaseSection = ".stapsdt.base"
	stapsdtNoteName    = "stapsdt"
	stapsdtNoteType    = 3 // NT_STAPSDT

	// maxNotesSize bounds what is read of .note.stapsdt: a note is some
	// 50-150 bytes, so this is hundreds of thousands of probes.
	maxNotesSize = 64 << 20
)

// Probe is a USDT probe site: one note of .note.stapsdt. A probe used at
// several places (inlined, or written twice) has a note, and a Probe, for
// each.
type Probe struct {
	Provider, Name string
	// Args is the argument string: "-4@%edi 8@-16(%rbp) 4@$5".
	Args string
	// Addr is the probe's address, after the prelink adjustment through
	// .stapsdt.base; Offset is where that instruction is in the file.
	Addr, Offset uint64
	// Semaphore is the address of the probe's semaphore, 0 for none;
	// SemaphoreOffset its place in the file, which the kernel increments
	// in every process while a uprobe with that ref_ctr_offset is set.
	Semaphore, SemaphoreOffset uint64
}

// USDTProbes lists the probes of the file's .note.stapsdt section. A file
// without the section has no probes.
func (f *File) USDTProbes() ([]Probe, error) {
	sec := f.elf.Section(stapsdtSection)
	if sec == nil {
		return nil, nil
	}
	if sec.Type != elf.SHT_NOTE {
		return nil, fmt.Errorf("%s: %s is not a note section (type %v)", f.Name, stapsdtSection, sec.Type)
	}
	if sec.Size > maxNotesSize {
		return nil, fmt.Errorf("%s: %s is %d bytes, more than the %d read", f.Name, stapsdtSection, sec.Size, maxNotesSize)
	}
	data, err := io.ReadAll(io.NewSectionReader(sec, 0, int64(sec.Size)))
	if err != nil {
		return nil, fmt.Errorf("%s: reading %s: %w", f.Name, stapsdtSection, err)
	}
	var base uint64
	if b := f.elf.Section(stapsdtBaseSection); b != nil {
		base = b.Addr
	}
	addrSize := 8
	if f.elf.Class == elf.ELFCLASS32 {
		addrSize = 4
	}
	notes, err := parseNotes(data, f.elf.ByteOrder.Uint32, f.elf.ByteOrder.Uint64, addrSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", f.Name, stapsdtSection, err)
	}
	probes := make([]Probe, 0, len(notes))
	for _, n := range notes {
		p := Probe{Provider: n.provider, Name: n.name, Args: n.args, Addr: n.pc, Semaphore: n.semaphore}
		// Prelink moves .stapsdt.base but not the notes, which are not
		// loaded: the difference applies to the probe and its semaphore.
		if base != 0 && n.base != 0 {
			p.Addr += base - n.base
			if p.Semaphore != 0 {
				p.Semaphore += base - n.base
			}
		}
		if p.Offset, err = f.FileOffset(p.Addr, true); err != nil {
			return nil, fmt.Errorf("%s: USDT probe %s:%s: %w", f.Name, p.Provider, p.Name, err)
		}
		if p.Semaphore != 0 {
			if p.SemaphoreOffset, err = f.FileOffset(p.Semaphore, false); err != nil {
				return nil, fmt.Errorf("%s: semaphore of USDT probe %s:%s: %w", f.Name, p.Provider, p.Name, err)
			}
		}
		probes = append(probes, p)
	}
	return probes, nil
}

type stapsdtNote struct {
	pc, base, semaphore  uint64
	provider, name, args string
}

// parseNotes decodes the notes of a .note.stapsdt section: each is a
// header (namesz, descsz, type), the name "stapsdt" padded to 4 bytes and
// a description of three addresses (pc, .stapsdt.base, semaphore) and
// three NUL-terminated strings (provider, name, arguments), padded to 4.
// Notes of another name or type are skipped; a malformed one is an error.
func parseNotes(data []byte, u32 func([]byte) uint32, u64 func([]byte) uint64, addrSize int) ([]stapsdtNote, error) {
	align := func(n uint64) uint64 { return (n + 3) &^ 3 }
	var notes []stapsdtNote
	for off := uint64(0); off < uint64(len(data)); {
		if uint64(len(data))-off < 12 {
			return nil, fmt.Errorf("note at %#x: %d bytes left, less than a note header", off, uint64(len(data))-off)
		}
		namesz, descsz, typ := uint64(u32(data[off:])), uint64(u32(data[off+4:])), u32(data[off+8:])
		nameOff := off + 12
		descOff := nameOff + align(namesz)
		end := descOff + align(descsz)
		if align(namesz) > uint64(len(data)) || align(descsz) > uint64(len(data)) || end > uint64(len(data)) {
			return nil, fmt.Errorf("note at %#x: name (%d bytes) and description (%d bytes) run past the section's end", off, namesz, descsz)
		}
		name := string(bytes.TrimRight(data[nameOff:nameOff+namesz], "\x00"))
		desc := data[descOff : descOff+descsz]
		at := off
		off = end
		if typ != stapsdtNoteType || name != stapsdtNoteName {
			continue
		}
		n, err := parseStapsdtDesc(desc, u32, u64, addrSize)
		if err != nil {
			return nil, fmt.Errorf("note at %#x: %w", at, err)
		}
		notes = append(notes, n)
	}
	return notes, nil
}

func parseStapsdtDesc(desc []byte, u32 func([]byte) uint32, u64 func([]byte) uint64, addrSize int) (stapsdtNote, error) {
	// Three addresses and at least three empty strings.
	if len(desc) < 3*addrSize+3 {
		return stapsdtNote{}, fmt.Errorf("description of %d bytes is too short for a USDT probe", len(desc))
	}
	addr := func(i int) uint64 {
		if addrSize == 4 {
			return uint64(u32(desc[i*4:]))
		}
		return u64(desc[i*8:])
	}
	n := stapsdtNote{pc: addr(0), base: addr(1), semaphore: addr(2)}
	rest := desc[3*addrSize:]
	var strs [3]string
	for i := range strs {
		end := bytes.IndexByte(rest, 0)
		if end < 0 {
			if i == 2 && len(rest) == 0 {
				break // no argument string at all
			}
			return stapsdtNote{}, fmt.Errorf("USDT probe string %d is not NUL-terminated", i)
		}
		strs[i], rest = string(rest[:end]), rest[end+1:]
	}
	n.provider, n.name, n.args = strs[0], strs[1], strs[2]
	if n.provider == "" || n.name == "" {
		return stapsdtNote{}, fmt.Errorf("USDT probe without a provider or a name (%q:%q)", n.provider, n.name)
	}
	// An argument string starting with ':' says none, as libbpf reads it.
	if len(n.args) > 0 && n.args[0] == ':' {
		n.args = ""
	}
	return n, nil
}
