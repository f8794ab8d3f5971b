package main

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestVerifyJSON(t *testing.T) {
	requireKernel(t)
	before := openFDs(t)
	var got []verdict
	code := rawloadJSON(t, &got, "verify", "--json", testdata("loader.o"), testdata("legacy.o"), testdata("invalid.o"))
	if code != exitFailure {
		t.Errorf("exit %d, want %d: bad_prog fails", code, exitFailure)
	}
	want := map[string][]string{
		"loader.o":  {"prog_counter", "prog_loop", "prog_maps", "prog_string"},
		"legacy.o":  {"legacy_prog"},
		"invalid.o": {"good_prog", "bad_prog"},
	}
	seen := map[string][]string{}
	for _, v := range got {
		object := filepath.Base(v.Object)
		seen[object] = append(seen[object], v.Program)
		if v.Section != "socket" || v.Type != "socket_filter" || v.Insns == 0 {
			t.Errorf("%s/%s: %+v", object, v.Program, v)
		}
		if object == "invalid.o" && v.Program == "bad_prog" {
			if v.Loaded || !strings.Contains(v.Error, "map_value_or_null") {
				t.Errorf("bad_prog: loaded %t, error %q; want a failure naming map_value_or_null", v.Loaded, v.Error)
			}
			continue
		}
		if !v.Loaded || v.Error != "" || v.VerifiedInsns == 0 || v.LoadNS <= 0 {
			t.Errorf("%s/%s: %+v", object, v.Program, v)
		}
	}
	for object, progs := range want {
		if !slices.Equal(seen[object], progs) {
			t.Errorf("%s: programs %q, want %q", object, seen[object], progs)
		}
	}
	if after := openFDs(t); after != before {
		t.Errorf("%d fds open after verify, %d before", after, before)
	}
}

// The JSON records have exactly the keys of the CLI contract.
func TestVerifyJSONKeys(t *testing.T) {
	requireKernel(t)
	stdout, stderr, code := rawload(t, "verify", testdata("invalid.o"), "--json")
	if code != exitFailure {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var records []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(stdout), &records); err != nil {
		t.Fatal(err)
	}
	want := []string{"error", "insns", "load_ns", "loaded", "object", "program", "section", "type", "verified_insns"}
	for _, r := range records {
		var keys []string
		for k := range r {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, want) {
			t.Errorf("keys %q, want %q", keys, want)
		}
	}
}

// A bad object is one failed row; the objects after it are still verified.
func TestVerifyBadObject(t *testing.T) {
	requireKernel(t)
	garbage := filepath.Join(t.TempDir(), "garbage.o")
	if err := os.WriteFile(garbage, []byte("\x7fELF but not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing.o")
	var got []verdict
	code := rawloadJSON(t, &got, "verify", "--json", garbage, missing, testdata("invalid.o"))
	if code != exitFailure {
		t.Errorf("exit %d, want %d", code, exitFailure)
	}
	if len(got) != 4 {
		t.Fatalf("%d rows, want 4: %+v", len(got), got)
	}
	for i, path := range []string{garbage, missing} {
		if r := got[i]; r.Object != path || r.Program != "" || r.Loaded || r.Error == "" {
			t.Errorf("row %d: %+v, want a failed row for %s", i, r, path)
		}
	}
	if r := got[2]; r.Program != "good_prog" || !r.Loaded {
		t.Errorf("row 2: %+v, want good_prog loaded", r)
	}
}

func TestVerifyText(t *testing.T) {
	requireKernel(t)
	stdout, stderr, code := rawload(t, "verify", "--parallel", "1", testdata("invalid.o"), testdata("legacy.o"))
	if code != exitFailure {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	header := strings.Fields(lines[0])
	if want := []string{"OBJECT", "PROGRAM", "SECTION", "VERDICT", "INSNS", "VERIFIED", "INSNS", "TIME"}; !slices.Equal(header, want) {
		t.Errorf("header %q, want %q", header, want)
	}
	totals := lines[len(lines)-1]
	if !strings.HasPrefix(totals, "programs: 3, loaded: 2, failed: 1, verified insns: ") {
		t.Errorf("totals line %q", totals)
	}
	if !strings.Contains(stdout, "map_value_or_null") {
		t.Errorf("the failure's reason is missing:\n%s", stdout)
	}
}

func TestVerifyAllTestdata(t *testing.T) {
	requireKernel(t)
	objects, err := filepath.Glob(testdata("*.o"))
	if err != nil || len(objects) == 0 {
		t.Fatalf("no objects in testdata: %v", err)
	}
	// Programs that must fail here, and the words their error must hold:
	// deliberate verifier failures, the trampolines this kernel refuses,
	// a typed ksym whose address this kernel (no KALLSYMS_ALL) lacks, and a
	// map whose size the object leaves to user space.
	expectedFailures := map[string]string{
		"invalid.o/bad_prog":         "map_value_or_null",
		"lineinfo.o/li_bad":          "invalid mem access",
		"trampoline.o/fentry_prog":   "refuses trampoline programs (fentry attaching to do_unlinkat",
		"trampoline.o/fexit_prog":    "refuses trampoline programs (fexit attaching to do_unlinkat",
		"trampoline.o/fmod_ret_prog": "refuses trampoline programs (fmod_ret attaching to bpf_modify_return_test",
		"trampoline.o/lsm_prog":      "refuses trampoline programs (lsm attaching to bpf_lsm_file_open",
		"percpu_ksym.o/percpu_prog":  "cpu_number",
		"sizes.o/count_conn":         "--max-entries conns=N",
		"sizes.o/sample_stack":       "--value-size stacks=N",
		// Map element iterators are refused at load on this kernel.
		"attach_tracing.o/iter_elems": "operation not permitted",
		// A feature's first choice and a feature that must be undone.
		"features.o/count_fexit": "refuses trampoline programs (fexit attaching to do_unlinkat",
		"features.o/bad_count":   "map_value_or_null",
	}
	var got []verdict
	rawloadJSON(t, &got, append([]string{"verify", "--json"}, objects...)...)
	for _, v := range got {
		want, mustFail := expectedFailures[filepath.Base(v.Object)+"/"+v.Program]
		switch {
		case strings.HasSuffix(v.Object, "-eb.o") && binary.NativeEndian.Uint16([]byte{1, 0}) == 1:
			// A big-endian object does not open on a little-endian kernel.
			if v.Loaded || !strings.Contains(v.Error, "byte order") {
				t.Errorf("%s: %+v, want a byte order failure", v.Object, v)
			}
		case mustFail:
			if v.Loaded || !strings.Contains(v.Error, want) {
				t.Errorf("%s/%s: loaded %t, error %q; want a failure containing %q", filepath.Base(v.Object), v.Program, v.Loaded, v.Error, want)
			}
		case !v.Loaded:
			t.Errorf("%s/%s: %s", filepath.Base(v.Object), v.Program, v.Error)
		}
	}
}
