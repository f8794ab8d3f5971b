package reloc

import (
	"os"
	"testing"
)

// BenchmarkLink links objects without CO-RE, the relocator's share of an
// Open: ELF, BTF and ext infos read, programs linked, BTF for the kernel;
// the object's BTF passed through, and (full-btf) decoded and encoded
// again.
func BenchmarkLink(b *testing.B) {
	for _, name := range []string{"loader.o", "events.o", "legacy.o", "tool_sockfilter.o"} {
		data, err := os.ReadFile("../testdata/" + name)
		if err != nil {
			b.Fatal(err)
		}
		for _, full := range []bool{false, true} {
			sub := name
			if full {
				sub += "/full-btf"
			}
			b.Run(sub, func(b *testing.B) {
				defer func(was bool) { fullBTFPath = was }(fullBTFPath)
				fullBTFPath = full
				b.ReportAllocs()
				for b.Loop() {
					if _, err := Link(data, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
