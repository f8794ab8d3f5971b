package reloc

import (
	"os"
	"testing"
)

// BenchmarkLink links objects without CO-RE, the relocator's share of an
// Open: ELF, BTF and ext infos read, programs linked, BTF for the kernel.
func BenchmarkLink(b *testing.B) {
	for _, name := range []string{"loader.o", "events.o", "legacy.o", "tool_sockfilter.o"} {
		data, err := os.ReadFile("../testdata/" + name)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Link(data, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
