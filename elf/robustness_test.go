package elf

import (
	"errors"
	"testing"
)

// TestTruncatedObjects cuts every peer object short at many lengths. clang
// puts the section header table last, so every cut must be an error, and a
// cut after the file header must be ErrMalformed.
func TestTruncatedObjects(t *testing.T) {
	for _, obj := range allObjects(t) {
		step := max(1, len(obj.data)/512)
		for n := 0; n < len(obj.data); n++ {
			if n > 2*headerSize && n%step != 0 && n != len(obj.data)-1 {
				continue
			}
			_, err := Parse(obj.data[:n])
			switch {
			case err == nil:
				t.Fatalf("%s cut to %d bytes: no error", obj.name, n)
			case n >= identSize && !errors.Is(err, ErrMalformed):
				t.Fatalf("%s cut to %d bytes: %v, want ErrMalformed", obj.name, n, err)
			case !isSentinel(err):
				t.Fatalf("%s cut to %d bytes: error wraps no sentinel: %v", obj.name, n, err)
			}
		}
	}
}

// TestCorruptedBytesNeverPanic damages every byte of the loader object in
// turn. Whatever Parse accepts must still keep its promises.
func TestCorruptedBytesNeverPanic(t *testing.T) {
	for _, obj := range loaderObjects(t) {
		b := append([]byte(nil), obj.data...)
		for i := range b {
			for _, mask := range []byte{0xff, 0x80, 0x01} {
				b[i] ^= mask
				f, err := Parse(b)
				if err == nil {
					checkFile(t, b, f)
				} else if !isSentinel(err) {
					t.Fatalf("%s: byte %#x ^ %#x: error wraps no sentinel: %v", obj.name, i, mask, err)
				}
				b[i] ^= mask
			}
		}
	}
}
