package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestVerifyPeerObjects runs verify on cilium/ebpf's own test objects: a
// program rawload cannot load must say which feature is missing, and every
// program cilium/ebpf v0.22.0 itself loads from these objects (measured
// with NewCollection, one program at a time) must load. In loader_nobtf,
// cilium/ebpf skips static_fn and global_fn3, whose sections name no
// program type.
func TestVerifyPeerObjects(t *testing.T) {
	requireKernel(t)
	all := []string(nil)
	for _, tc := range []struct {
		file     string
		mustLoad []string // nil: every program
	}{
		{"subprog_reloc-el.elf", all},
		{"raw_tracepoint-el.elf", all},
		{"strings-el.elf", all},
		{"variables-el.elf", all},
		{"loader_nobtf-el.elf", []string{"xdp_prog", "no_relocation", "asm_relocation", "data_sections", "anon_const"}},
		{"linked-el.elf", all},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var got []verdict
			rawloadJSON(t, &got, "verify", "--json", ciliumTestdata(t, tc.file))
			if len(got) == 0 {
				t.Fatal("no programs reported")
			}
			loaded := 0
			for _, v := range got {
				if filepath.Base(v.Object) != tc.file {
					t.Errorf("row for object %q", v.Object)
				}
				if v.Loaded {
					loaded++
					continue
				}
				if !strings.Contains(v.Error, "not supported") && !strings.Contains(v.Error, "unknown program section") {
					t.Errorf("%s: not loaded for a reason other than a missing feature: %s", v.Program, v.Error)
				}
				if tc.mustLoad == nil || slices.Contains(tc.mustLoad, v.Program) {
					t.Errorf("%s: not loaded: %s", v.Program, v.Error)
				}
			}
			t.Logf("%s: %d of %d programs loaded", tc.file, loaded, len(got))
		})
	}
}
