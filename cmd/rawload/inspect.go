package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/rawload/rawload/bpf"
)

// inspection is the JSON document of `inspect --json`.
type inspection struct {
	Object    string             `json:"object"`
	ByteOrder string             `json:"byte_order"`
	License   string             `json:"license"`
	Programs  []inspectedProgram `json:"programs"`
	Maps      []inspectedMap     `json:"maps"`
	Globals   []inspectedGlobal  `json:"globals"`
}

type inspectedProgram struct {
	Name     string   `json:"name"`
	Section  string   `json:"section"`
	Type     string   `json:"type"`
	AttachTo string   `json:"attach_to,omitempty"`
	Insns    int      `json:"insns"`
	Maps     []string `json:"maps"`
	CORE     int      `json:"core_relocations"`
	Externs  []string `json:"externs"`
	Error    string   `json:"error,omitempty"`
}

type inspectedMap struct {
	Name       string        `json:"name"`
	Type       string        `json:"type"`
	KeySize    uint32        `json:"key_size"`
	ValueSize  uint32        `json:"value_size"`
	MaxEntries uint32        `json:"max_entries"`
	Created    *uint32       `json:"created_max_entries,omitempty"`
	Flags      uint32        `json:"flags"`
	MapExtra   uint64        `json:"map_extra,omitempty"`
	Pinning    string        `json:"pinning"`
	Source     string        `json:"source"`
	KeyType    string        `json:"key_type,omitempty"`
	ValueType  string        `json:"value_type,omitempty"`
	Inner      *inspectedMap `json:"inner,omitempty"`
	Error      string        `json:"error,omitempty"`
}

type inspectedGlobal struct {
	Name    string `json:"name"`
	Section string `json:"section"`
	Offset  uint64 `json:"offset"`
	Size    uint64 `json:"size"`
	Type    string `json:"type,omitempty"`
}

// runInspect describes the object without a kernel, so it works for objects
// of either byte order and on machines where bpf(2) is not permitted.
func runInspect(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("inspect", "[--json] OBJ", stderr)
	asJSON := fs.Bool("json", false, "print one JSON document")
	paths, code, ok := parseCommandLine(fs, args, 1, 1)
	if !ok {
		return code
	}
	ins, err := inspect(paths[0])
	if err != nil {
		if *asJSON {
			writeJSON(stdout, map[string]string{"object": paths[0], "error": errorSummary(err)})
		} else {
			fmt.Fprintf(stderr, "rawload inspect: %v\n", err)
		}
		return exitFailure
	}
	if *asJSON {
		err = writeJSON(stdout, ins)
	} else {
		err = printInspection(stdout, ins)
	}
	if err != nil {
		fmt.Fprintf(stderr, "rawload inspect: %v\n", err)
		return exitFailure
	}
	return exitOK
}

func inspect(path string) (*inspection, error) {
	spec, err := bpf.ReadSpec(path)
	if err != nil {
		return nil, err
	}
	ins := &inspection{
		Object:    path,
		ByteOrder: byteOrderName(spec.ByteOrder),
		License:   spec.License,
		Programs:  []inspectedProgram{},
		Maps:      []inspectedMap{},
		Globals:   []inspectedGlobal{},
	}
	for _, p := range spec.Programs {
		ip := inspectedProgram{
			Name:     p.Name,
			Section:  p.Section,
			Type:     p.Type.String(),
			AttachTo: p.AttachTo,
			Insns:    p.Insns,
			Maps:     p.Maps,
			CORE:     p.CORERelocations,
			Externs:  []string{},
		}
		for _, ext := range p.Externs {
			ip.Externs = append(ip.Externs, ext.Name)
		}
		if p.Err != nil {
			ip.Error = p.Err.Error()
		}
		ins.Programs = append(ins.Programs, ip)
	}
	for _, m := range spec.Maps {
		ins.Maps = append(ins.Maps, inspectMap(m))
	}
	for _, v := range spec.Variables {
		ins.Globals = append(ins.Globals, inspectedGlobal{Name: v.Name, Section: v.Section, Offset: v.Offset, Size: v.Size, Type: v.Type})
	}
	return ins, nil
}

func inspectMap(m bpf.MapSpec) inspectedMap {
	im := inspectedMap{
		Name:       m.Name,
		Type:       m.Type.String(),
		KeySize:    m.KeySize,
		ValueSize:  m.ValueSize,
		MaxEntries: m.MaxEntries,
		Flags:      m.Flags,
		MapExtra:   m.MapExtra,
		Pinning:    m.Pinning.String(),
		Source:     m.Source.String(),
		KeyType:    m.KeyType,
		ValueType:  m.ValueType,
	}
	if n, err := m.EffectiveMaxEntries(); err == nil && n != m.MaxEntries {
		im.Created = &n
	}
	if m.Inner != nil {
		inner := inspectMap(*m.Inner)
		im.Inner = &inner
	}
	if m.Err != nil {
		im.Error = m.Err.Error()
	}
	return im
}

func byteOrderName(bo binary.ByteOrder) string {
	if bo == binary.BigEndian {
		return "big-endian"
	}
	return "little-endian"
}

func printInspection(w io.Writer, ins *inspection) error {
	fmt.Fprintf(w, "object %s: %s, license %q\n\n", ins.Object, ins.ByteOrder, ins.License)

	t := newTable(w, "PROGRAM", "SECTION", "TYPE", "INSNS", "MAPS", "CO-RE", "EXTERNS", "ERROR")
	for _, p := range ins.Programs {
		t.row(p.Name, p.Section, p.Type, strconv.Itoa(p.Insns), orDash(strings.Join(p.Maps, ",")),
			strconv.Itoa(p.CORE), orDash(strings.Join(p.Externs, ",")), orDash(p.Error))
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)

	t = newTable(w, "MAP", "TYPE", "KEY", "VALUE", "ENTRIES", "FLAGS", "PINNING", "SOURCE", "ERROR")
	for _, m := range ins.Maps {
		t.row(m.Name, m.Type, strconv.FormatUint(uint64(m.KeySize), 10), strconv.FormatUint(uint64(m.ValueSize), 10),
			entries(m), fmt.Sprintf("%#x", m.Flags), m.Pinning, m.Source, orDash(m.Error))
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)

	t = newTable(w, "GLOBAL", "SECTION", "OFFSET", "SIZE")
	for _, g := range ins.Globals {
		t.row(g.Name, g.Section, strconv.FormatUint(g.Offset, 10), strconv.FormatUint(g.Size, 10))
	}
	return t.flush()
}

// entries shows the declared size, and the size the map will be created
// with where defaults change it: "0 (2)" for a perf event array on two
// possible CPUs.
func entries(m inspectedMap) string {
	declared := strconv.FormatUint(uint64(m.MaxEntries), 10)
	if m.Created == nil {
		return declared
	}
	return fmt.Sprintf("%s (%d)", declared, *m.Created)
}
