package bpf

import (
	"strings"
	"testing"
)

func TestAssign(t *testing.T) {
	obj := mustOpen(t, testdata("loader.o"), nil)
	var objs struct {
		Counter *Program  `rawload:"prog_counter"`
		Counts  *Map      `rawload:"counts"`
		Hits    *Variable `rawload:"bss_hits"`
		Other   *Map
	}
	if err := obj.Assign(&objs); err != nil {
		t.Fatal(err)
	}
	if objs.Counter != obj.Program("prog_counter") || objs.Counts != obj.Map("counts") {
		t.Errorf("Assign set %p, %p; want the Object's %p, %p", objs.Counter, objs.Counts, obj.Program("prog_counter"), obj.Map("counts"))
	}
	if objs.Hits == nil || objs.Hits.Name() != "bss_hits" || objs.Hits.Size() != 8 {
		t.Errorf("variable: %+v", objs.Hits)
	}
	if objs.Other != nil {
		t.Error("an untagged field was assigned")
	}
	// The variable is the live one: a write through it reads back
	// through the Object.
	if err := objs.Hits.Write(u64(41)); err != nil {
		t.Fatal(err)
	}
	if got := readVarU64(t, obj, "bss_hits"); got != 41 {
		t.Errorf("bss_hits = %d after a write through the assigned Variable, want 41", got)
	}
}

func TestAssignMissing(t *testing.T) {
	obj := mustOpen(t, testdata("loader.o"), nil)
	var objs struct {
		Counter *Program  `rawload:"prog_counter"`
		Gone    *Program  `rawload:"no_such_prog"`
		NoMap   *Map      `rawload:"no_such_map"`
		NoVar   *Variable `rawload:"no_such_var"`
	}
	err := obj.Assign(&objs)
	if err == nil {
		t.Fatal("Assign with missing names succeeded")
	}
	for _, want := range []string{`Gone (Program "no_such_prog")`, `NoMap (Map "no_such_map")`, `NoVar (Variable "no_such_var")`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "prog_counter") {
		t.Errorf("error %q names a field that is there", err)
	}
	if objs.Counter != nil {
		t.Error("a failed Assign assigned a field")
	}
}

func TestAssignBadTarget(t *testing.T) {
	obj := mustOpen(t, testdata("loader.o"), nil)
	var wrongType struct {
		Counts *Program `rawload:"counts"`
		Name   string   `rawload:"prog_counter"`
	}
	var unexported struct {
		counts *Map `rawload:"counts"`
	}
	for name, target := range map[string]any{
		"not a pointer":    wrongType,
		"nil pointer":      (*struct{})(nil),
		"pointer to int":   new(int),
		"field type":       &wrongType,
		"unexported field": &unexported,
		"program not a map": &struct {
			P *Program `rawload:"counts"`
		}{},
	} {
		if err := obj.Assign(target); err == nil {
			t.Errorf("%s: Assign succeeded", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	_ = unexported.counts
}
