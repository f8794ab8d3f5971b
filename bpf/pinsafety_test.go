package bpf

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/reloc"
	"github.com/rawload/rawload/syscall"
)

func TestCheckPinName(t *testing.T) {
	for _, good := range []string{"pinned_counts", "a.b-c_9", "..a", "x"} {
		if err := checkPinName(good); err != nil {
			t.Errorf("%q: %v", good, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "../escape_pin", "a/b", "/abs", "a b", "a\x00b", "é"} {
		if err := checkPinName(bad); !errors.Is(err, ErrBadPinName) {
			t.Errorf("%q: %v, want ErrBadPinName", bad, err)
		}
	}
}

// TestPinNameTraversal renames pinned.o's map to "../pinned_cou": loading
// must neither pin nor adopt anything outside PinPath.
func TestPinNameTraversal(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	data, err := os.ReadFile(testdata("pinned.o"))
	must(t, err)
	hostile := bytes.ReplaceAll(data, []byte("pinned_counts\x00"), []byte("../pinned_cou\x00"))
	if bytes.Equal(hostile, data) {
		t.Fatal("pinned.o has no pinned_counts string")
	}
	parent := bpffsDir(t)
	dir := filepath.Join(parent, "inner")
	must(t, os.Mkdir(dir, 0o700))
	obj, err := OpenBytes(hostile, &Options{PinPath: dir})
	must(t, err)
	defer obj.Close()
	m := obj.Maps()[0]
	if m.Name() != "../pinned_cou" {
		t.Fatalf("map name %q", m.Name())
	}
	err = obj.Load(context.Background())
	if !errors.Is(err, ErrBadPinName) {
		t.Fatalf("Load: %v, want ErrBadPinName", err)
	}
	if _, err := os.Stat(filepath.Join(parent, "pinned_cou")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a pin escaped PinPath: %v", err)
	}
}

func TestPinPathNotOnBPFFS(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	dir := filepath.Join(t.TempDir(), "pins")
	_, err := Open(testdata("pinned.o"), &Options{PinPath: dir})
	if err == nil || !strings.Contains(err.Error(), "not on a bpf filesystem") {
		t.Fatalf("Open with PinPath %s: %v, want an error saying it is not on a bpf filesystem", dir, err)
	}
}

func TestPinModes(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	dir := filepath.Join(bpffsDir(t), "a", "b")
	obj := mustOpen(t, testdata("pinned.o"), &Options{PinPath: dir})
	must(t, obj.Load(context.Background()))
	st, err := os.Stat(dir)
	must(t, err)
	if st.Mode().Perm() != 0o700 {
		t.Errorf("pin directory mode %v, want 0700", st.Mode().Perm())
	}
	st, err = os.Stat(filepath.Join(dir, "pinned_counts"))
	must(t, err)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("pin mode %v, want 0600", st.Mode().Perm())
	}
}

// fakeMap is a Map of an Object that exists only to check compatibility.
func fakeMap(spec *reloc.MapSpec) *Map { return &Map{obj: &Object{}, spec: spec} }

func TestCompatibleMapExtraAndNUMA(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	bloom := &reloc.MapSpec{Name: "bloom", Type: uapi.MapTypeBloomFilter, ValueSize: 8, MaxEntries: 64, MapExtra: 3}
	fd, err := syscall.MapCreate(new(createAttr(bloom)))
	must(t, err)
	defer unix.Close(fd)
	must(t, fakeMap(bloom).checkCompatible(fd))
	five := *bloom
	five.MapExtra = 5
	if err := fakeMap(&five).checkCompatible(fd); !errors.Is(err, ErrIncompatibleMap) || !strings.Contains(err.Error(), "map_extra") {
		t.Errorf("bloom filter with map_extra 3 for a definition with 5: %v", err)
	}

	// The flags compared are those rawload would create the map with:
	// BPF_F_NUMA_NODE comes from numa_node, not from the definition's
	// flags, and a map bound to a node is not one created without.
	numa := &reloc.MapSpec{Name: "numa", Type: uapi.MapTypeHash, KeySize: 4, ValueSize: 4, MaxEntries: 4, NumaNode: 0}
	attr := createAttr(numa)
	attr.MapFlags |= uapi.FlagNUMANode
	nfd, err := syscall.MapCreate(&attr)
	must(t, err)
	defer unix.Close(nfd)
	if err := fakeMap(numa).checkCompatible(nfd); !errors.Is(err, ErrIncompatibleMap) {
		t.Errorf("a NUMA-bound map for a definition without a node: %v", err)
	}
}

func TestCompatibleInnerMap(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	innerSpec := &reloc.MapSpec{Name: "inner", Type: uapi.MapTypeArray, KeySize: 4, ValueSize: 4, MaxEntries: 1}
	inner, err := syscall.MapCreate(new(createAttr(innerSpec)))
	must(t, err)
	defer unix.Close(inner)
	outerSpec := &reloc.MapSpec{Name: "outer", Type: uapi.MapTypeArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 2, Inner: innerSpec}
	attr := createAttr(outerSpec)
	attr.InnerMapFD = uint32(inner)
	outer, err := syscall.MapCreate(&attr)
	must(t, err)
	defer unix.Close(outer)
	must(t, fakeMap(outerSpec).checkCompatible(outer)) // empty: nothing to compare
	must(t, syscall.MapUpdateElem(outer, u32(1), u32(uint32(inner)), 0))
	must(t, fakeMap(outerSpec).checkCompatible(outer))

	wider := *innerSpec
	wider.ValueSize = 8
	other := *outerSpec
	other.Inner = &wider
	if err := fakeMap(&other).checkCompatible(outer); !errors.Is(err, ErrIncompatibleMap) || !strings.Contains(err.Error(), "inner map") {
		t.Errorf("inner maps of 4-byte values for a definition of 8: %v", err)
	}
}

func TestReuseFDOfAProgram(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("loader.o"), nil)
	must(t, obj.Load(context.Background()))
	prog := obj.Program("prog_loop")
	other := mustOpen(t, testdata("loader.o"), nil)
	err := other.Map("results").ReuseFD(prog.FD())
	if !errors.Is(err, ErrIncompatibleMap) || !strings.Contains(err.Error(), "bpf-prog") {
		t.Fatalf("ReuseFD of a program fd: %v, want ErrIncompatibleMap naming a program", err)
	}
}
