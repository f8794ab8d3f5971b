package reloc

import (
	"errors"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// TestInnerMapCycle gives a map definition a values member whose pointer
// leads back to the definition itself, which BTF can say. Reading inner
// map templates used to recurse without end, a fatal stack overflow; the
// kernel nests maps of maps one level only, and so does rawload.
func TestInnerMapCycle(t *testing.T) {
	u32 := &btf.Int{Name: "unsigned int", Size: 4}
	num := func(n uint32) btf.Type { return &btf.Pointer{Target: &btf.Array{Index: u32, Type: u32, Nelems: n}} }
	def := &btf.Struct{Name: "loop", Size: 24}
	def.Members = []btf.Member{
		{Name: "type", Type: num(12)},
		{Name: "max_entries", Type: num(1), Offset: 64},
		{Name: "values", Type: &btf.Array{Index: u32, Type: &btf.Pointer{Target: def}}, Offset: 128},
	}
	_, err := btfMapSpec("loop", def)
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "one level") {
		t.Fatalf("%v, want an error about nesting", err)
	}
}
