package bpf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/syscall"
)

// Every probe's blob holds the kind it is named for, and this 6.18 kernel
// loads each one.
func TestBTFProbeBlobs(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)

	for _, tc := range []struct {
		probe *btfProbe
		holds func(btf.Type) bool
	}{
		{probeBTF, func(typ btf.Type) bool { _, ok := typ.(*btf.Int); return ok }},
		{probeFunc, func(typ btf.Type) bool { f, ok := typ.(*btf.Func); return ok && f.Linkage == btf.StaticFunc }},
		{probeDatasec, func(typ btf.Type) bool { ds, ok := typ.(*btf.Datasec); return ok && len(ds.Vars) == 1 }},
		{probeFloat, func(typ btf.Type) bool { _, ok := typ.(*btf.Float); return ok }},
		{probeFuncLinkage, func(typ btf.Type) bool { f, ok := typ.(*btf.Func); return ok && f.Linkage == btf.GlobalFunc }},
		{probeDeclTag, func(typ btf.Type) bool { td, ok := typ.(*btf.Typedef); return ok && len(td.Tags) == 1 }},
		{probeTypeTag, func(typ btf.Type) bool { _, ok := typ.(*btf.TypeTag); return ok }},
		{probeEnum64, func(typ btf.Type) bool { e, ok := typ.(*btf.Enum); return ok && e.Size == 8 }},
	} {
		t.Run(tc.probe.feature, func(t *testing.T) {
			blob, err := tc.probe.blob()
			if err != nil {
				t.Fatal(err)
			}
			spec, err := btf.LoadSpecFromReader(bytes.NewReader(blob))
			if err != nil {
				t.Fatal(err)
			}
			var held bool
			for typ, err := range spec.All() {
				if err != nil {
					t.Fatal(err)
				}
				held = held || tc.holds(typ)
			}
			if !held {
				t.Fatalf("blob does not hold a %s", tc.probe.feature)
			}

			if err := loadBTFProbe(tc.probe.feature, tc.probe.since, blob); err != nil {
				t.Errorf("kernel refused the blob: %v", err)
			}
			if err := tc.probe.result(); err != nil {
				t.Errorf("cached result: %v", err)
			}
		})
	}
}

// A kind the kernel does not know is reported as refused, not as a failure
// to probe.
func TestBTFProbeRefused(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)

	blob, err := probeBTF.blob()
	if err != nil {
		t.Fatal(err)
	}
	// The one type's info word follows the 24-byte header and name_off;
	// kind 31 is beyond any kernel's BTF_KIND_MAX.
	const infoOff = 24 + 4
	info := binary.NativeEndian.Uint32(blob[infoOff:])
	binary.NativeEndian.PutUint32(blob[infoOff:], info|0x1f<<24)

	err = loadBTFProbe("kind 31", "never", blob)
	if !errors.Is(err, errBTFKindUnsupported) {
		t.Fatalf("got %v, want errBTFKindUnsupported", err)
	}
	if want := "kind 31 (Linux never): refused by the kernel's BTF loader"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func TestProbeMarshalOptions(t *testing.T) {
	requireKernel(t)

	want := btf.MarshalOptions{Order: binary.NativeEndian, PreventNoTypeFound: true}
	opts := btfMarshalOptions()
	if *opts != want {
		t.Errorf("6.18 needs no rewriting: got %+v", *opts)
	}
	opts.ReplaceEnum64 = true
	if *btfMarshalOptions() != want {
		t.Error("btfMarshalOptions returned shared state")
	}
	if err := probeBTFSupport(); err != nil {
		t.Errorf("probeBTFSupport: %v", err)
	}
}

// One blob with every probed kind, marshalled with btfMarshalOptions, is
// what an object's BTF looks like to the kernel; it must load.
func TestProbeMarshalOptionsLoad(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)

	var types []btf.Type
	for _, p := range []*btfProbe{probeBTF, probeFunc, probeDatasec, probeFloat, probeFuncLinkage, probeDeclTag, probeTypeTag, probeEnum64} {
		types = append(types, p.typ())
	}
	b, err := btf.NewBuilder(types, nil)
	if err != nil {
		t.Fatal(err)
	}
	blob, err := b.Marshal(nil, btfMarshalOptions())
	if err != nil {
		t.Fatal(err)
	}
	fd, log, err := syscall.BTFLoad(blob, 0)
	if err != nil {
		t.Fatalf("BTF_LOAD: %v\n%s", err, log)
	}
	unix.Close(fd)
}

func TestProbeProgBindMap(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)

	if err := probeProgBindMap(); err != nil {
		t.Fatal(err)
	}
	if !haveProgBindMap() {
		t.Error("haveProgBindMap is false on 6.18")
	}
}
