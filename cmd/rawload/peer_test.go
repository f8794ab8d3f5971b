package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestVerifyPeerObjects runs verify on cilium/ebpf's own test objects: a
// program rawload cannot load must say which feature is missing, and the
// objects it fully supports must load completely.
func TestVerifyPeerObjects(t *testing.T) {
	requireKernel(t)
	for _, tc := range []struct {
		file    string
		loadAll bool
	}{
		{"subprog_reloc-el.elf", true},
		{"raw_tracepoint-el.elf", true},
		{"strings-el.elf", true},
		{"variables-el.elf", true},
		{"loader_nobtf-el.elf", false},
		{"linked-el.elf", true},
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
				if tc.loadAll {
					t.Errorf("%s: not loaded: %s", v.Program, v.Error)
				}
			}
			t.Logf("%s: %d of %d programs loaded", tc.file, loaded, len(got))
		})
	}
}
