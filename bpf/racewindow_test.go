package bpf

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/syscall"
)

// TestVariableWriteDuringCreate writes a .rodata global while its map is
// being created, after the initial contents went in and before the mmap:
// the write must either reach the map or be refused, never be accepted
// and lost.
func TestVariableWriteDuringCreate(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("loader.o"), nil)
	v, err := obj.Variable("rodata_magic")
	must(t, err)
	must(t, v.Write(u32(7)))

	written := make(chan error, 1)
	var once sync.Once
	syscall.SetFaultHook(func(cmd int) unix.Errno {
		if cmd == uapi.CmdMapFreeze {
			once.Do(func() {
				go func() { written <- v.Write(u32(42)) }()
				// Give the write every chance to slip in before the
				// map is installed.
				select {
				case err := <-written:
					written <- err
				case <-time.After(100 * time.Millisecond):
				}
			})
		}
		return 0
	})
	err = obj.Map(".rodata").Create()
	syscall.SetFaultHook(nil)
	must(t, err)
	writeErr := <-written
	value := make([]byte, obj.Map(".rodata").Spec().ValueSize)
	must(t, obj.Map(".rodata").Lookup(u32(0), value))
	got := binary.NativeEndian.Uint32(value)
	switch {
	case writeErr == nil && got != 42:
		t.Fatalf("a write accepted during creation is lost: the map holds %d, want 42", got)
	case writeErr != nil && got != 7:
		t.Fatalf("a write refused during creation changed the map to %d", got)
	}
}

// TestCloseClearsProgramArray shares a program array with the Object
// through ReuseFD: after Close, the array must hold none of the
// Object's programs.
func TestCloseClearsProgramArray(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	fd, err := syscall.MapCreate(&syscall.MapCreateAttr{MapType: uapi.MapTypeProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 4})
	must(t, err)
	defer unix.Close(fd)
	obj := mustOpen(t, testdata("tailcall.o"), nil)
	must(t, obj.Map("jump_table").ReuseFD(fd))
	must(t, obj.Load(context.Background()))
	id := make([]byte, 4)
	must(t, syscall.MapLookupElem(fd, u32(0), id))
	must(t, obj.Close())
	for _, index := range []uint32{0, 2} {
		if err := syscall.MapLookupElem(fd, u32(index), id); !errors.Is(err, unix.ENOENT) {
			t.Errorf("element %d after Close: %v, want ENOENT", index, err)
		}
	}
}
