package main

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestInspectLoader(t *testing.T) {
	var got inspection
	if code := rawloadJSON(t, &got, "inspect", "--json", testdata("loader.o")); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if got.ByteOrder != "little-endian" || got.License != "GPL" {
		t.Errorf("byte order %q, license %q", got.ByteOrder, got.License)
	}

	// Linked sizes and maps used, from testdata/README.md.
	wantProgs := []inspectedProgram{
		{Name: "prog_counter", Section: "socket", Type: "socket_filter", Insns: 44, Maps: []string{"counts", "results", ".data", ".bss"}},
		{Name: "prog_loop", Section: "socket", Type: "socket_filter", Insns: 52, Maps: []string{"counts", "results"}},
		{Name: "prog_maps", Section: "socket", Type: "socket_filter", Insns: 61,
			Maps: []string{"events", "recent", "percpu_hits", "results", ".rodata", ".data.extra"}},
		{Name: "prog_string", Section: "socket", Type: "socket_filter", Insns: 66, Maps: []string{"counts", "results", ".bss", ".rodata.str1.1"}},
	}
	if len(got.Programs) != len(wantProgs) {
		t.Fatalf("%d programs, want %d: %+v", len(got.Programs), len(wantProgs), got.Programs)
	}
	for i, want := range wantProgs {
		p := got.Programs[i]
		if p.Name != want.Name || p.Section != want.Section || p.Type != want.Type || p.Insns != want.Insns || p.Error != "" {
			t.Errorf("program %d: %+v, want %+v", i, p, want)
		}
		// The order of maps used is not part of the contract.
		gotMaps, wantMaps := slices.Sorted(slices.Values(p.Maps)), slices.Sorted(slices.Values(want.Maps))
		if !slices.Equal(gotMaps, wantMaps) {
			t.Errorf("program %s uses %q, want %q", p.Name, p.Maps, want.Maps)
		}
	}

	wantMaps := map[string]inspectedMap{
		"counts":         {Type: "hash", KeySize: 4, ValueSize: 8, MaxEntries: 64, Source: "btf"},
		"results":        {Type: "array", KeySize: 4, ValueSize: 8, MaxEntries: 8, Source: "btf"},
		"percpu_hits":    {Type: "percpu_array", KeySize: 4, ValueSize: 8, MaxEntries: 1, Source: "btf"},
		"events":         {Type: "ringbuf", KeySize: 0, ValueSize: 0, MaxEntries: 4096, Source: "btf"},
		"recent":         {Type: "lru_hash", KeySize: 4, ValueSize: 4, MaxEntries: 16, Source: "btf"},
		".data":          {Type: "array", KeySize: 4, ValueSize: 8, MaxEntries: 1, Source: "global-data"},
		".rodata":        {Type: "array", KeySize: 4, ValueSize: 4, MaxEntries: 1, Source: "global-data"},
		".data.extra":    {Type: "array", KeySize: 4, ValueSize: 4, MaxEntries: 1, Source: "global-data"},
		".bss":           {Type: "array", KeySize: 4, ValueSize: 16, MaxEntries: 1, Source: "global-data"},
		".rodata.str1.1": {Type: "array", KeySize: 4, ValueSize: 8, MaxEntries: 1, Source: "global-data"},
	}
	if len(got.Maps) != len(wantMaps) {
		t.Errorf("%d maps, want %d: %+v", len(got.Maps), len(wantMaps), got.Maps)
	}
	for _, m := range got.Maps {
		want, ok := wantMaps[m.Name]
		if !ok {
			t.Errorf("unexpected map %q", m.Name)
			continue
		}
		if m.Type != want.Type || m.KeySize != want.KeySize || m.ValueSize != want.ValueSize ||
			m.MaxEntries != want.MaxEntries || m.Source != want.Source || m.Pinning != "none" || m.Error != "" {
			t.Errorf("map %s: %+v, want %+v", m.Name, m, want)
		}
	}

	wantGlobals := []inspectedGlobal{
		{Name: "data_counter", Section: ".data", Offset: 0, Size: 8, Type: "__u64"},
		{Name: "rodata_magic", Section: ".rodata", Offset: 0, Size: 4, Type: "const volatile __u32"},
		{Name: "extra_val", Section: ".data.extra", Offset: 0, Size: 4, Type: "__u32"},
		{Name: "bss_hits", Section: ".bss", Offset: 0, Size: 8, Type: "__u64"},
		{Name: "str_len_seen", Section: ".bss", Offset: 8, Size: 8, Type: "__u64"},
	}
	for _, want := range wantGlobals {
		if !slices.Contains(got.Globals, want) {
			t.Errorf("no global %+v in %+v", want, got.Globals)
		}
	}
	if len(got.Globals) != len(wantGlobals) {
		t.Errorf("%d globals, want %d", len(got.Globals), len(wantGlobals))
	}
}

// inspect needs no kernel, so a big-endian object inspects like its
// little-endian twin on any machine.
func TestInspectBigEndian(t *testing.T) {
	for _, name := range []string{"loader", "legacy"} {
		t.Run(name, func(t *testing.T) {
			var el, eb inspection
			if code := rawloadJSON(t, &el, "inspect", "--json", testdata(name+".o")); code != exitOK {
				t.Fatalf("%s.o: exit %d", name, code)
			}
			if code := rawloadJSON(t, &eb, "inspect", testdata(name+"-eb.o"), "--json"); code != exitOK {
				t.Fatalf("%s-eb.o: exit %d", name, code)
			}
			if eb.ByteOrder != "big-endian" {
				t.Errorf("byte order %q, want big-endian", eb.ByteOrder)
			}
			el.Object, el.ByteOrder = eb.Object, eb.ByteOrder
			if !reflect.DeepEqual(el, eb) {
				t.Errorf("%s-eb.o differs from %s.o:\n%+v\n%+v", name, name, eb, el)
			}
		})
	}
}

func TestInspectLegacy(t *testing.T) {
	var got inspection
	if code := rawloadJSON(t, &got, "inspect", "--json", testdata("legacy.o")); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	want := []inspectedMap{
		{Name: "legacy_hash", Type: "hash", KeySize: 4, ValueSize: 8, MaxEntries: 32, Pinning: "none", Source: "legacy"},
		{Name: "legacy_array", Type: "array", KeySize: 4, ValueSize: 4, MaxEntries: 4, Pinning: "none", Source: "legacy"},
	}
	for _, m := range want {
		if !slices.Contains(got.Maps, m) {
			t.Errorf("no map %+v in %+v", m, got.Maps)
		}
	}
	if len(got.Programs) != 1 || got.Programs[0].Name != "legacy_prog" || got.Programs[0].Insns != 26 {
		t.Errorf("programs %+v, want legacy_prog of 26 insns", got.Programs)
	}
}

func TestInspectText(t *testing.T) {
	stdout, stderr, code := rawload(t, "inspect", testdata("dynload.o"))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"PROGRAM", "MAP", "GLOBAL",
		"prog1", "raw_tp/sys_enter", "raw_tracepoint",
		"prog3_called", "my_pid",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestInspectBadObject(t *testing.T) {
	_, stderr, code := rawload(t, "inspect", testdata("README.md"))
	if code != exitFailure {
		t.Errorf("exit %d, want %d", code, exitFailure)
	}
	if !strings.Contains(stderr, "README.md") {
		t.Errorf("error does not name the file: %s", stderr)
	}
}

// TestInspectCreatedSizes shows the size a map will be created with next
// to the declared one where defaults change it.
func TestInspectCreatedSizes(t *testing.T) {
	var got inspection
	if code := rawloadJSON(t, &got, "inspect", "--json", testdata("sizes.o")); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	created := map[string]uint32{}
	for _, m := range got.Maps {
		if m.Created != nil {
			created[m.Name] = *m.Created
		}
	}
	if created["odd_ring"] != 8192 || created["events"] == 0 || created["typed_events"] == 0 {
		t.Errorf("created sizes %v", created)
	}
	if _, ok := created["conns"]; ok {
		t.Errorf("conns has no default size, yet inspect shows %d", created["conns"])
	}
}
