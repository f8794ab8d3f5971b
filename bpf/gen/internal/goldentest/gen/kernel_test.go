package gen

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/rawload/rawload/bpf"
	"github.com/rawload/rawload/bpf/ringbuf"
	"github.com/rawload/rawload/internal/testutil"
)

// TestTypedAPIInKernel writes a struct global (padding, bitfields, an
// anonymous union, an enum, a typedef) and a struct-keyed map through
// the generated API, runs gen_echo, which copies what it reads into
// echo, totals, the map and the ring buffer, and reads all that back
// through the same API and as raw bytes.
func TestTypedAPIInKernel(t *testing.T) {
	testutil.RequireKernel(t)
	objs, err := LoadGen(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer objs.Close()
	// The initial value, from .data.
	initial, err := objs.Cfg.Get()
	if err != nil {
		t.Fatal(err)
	}
	if initial.Enabled != 1 || initial.Limit != 100 || initial.Kind != GenKindOpen || initial.Level() != 2 ||
		initial.Delta() != -2 || initial.Flag() != 1 || initial.Owner != 7 {
		t.Errorf("initial cfg = %+v (level %d, delta %d, flag %d)", initial, initial.Level(), initial.Delta(), initial.Flag())
	}
	if err := objs.Load(context.Background()); err != nil {
		t.Fatal(err)
	}

	cfg := GenConfig{Enabled: 1, Limit: 1000, Kind: GenKindClose, AsU64: 0x1122334455667788, Owner: 42, Range: GenConfigRange{Lo: 80, Hi: 443}}
	cfg.SetLevel(5)
	cfg.SetDelta(-7)
	cfg.SetFlag(1)
	if *cfg.AsU32() != 0x55667788 || cfg.Bytes()[7] != 0x11 {
		t.Errorf("union views: as_u32 %#x, bytes %x", *cfg.AsU32(), *cfg.Bytes())
	}
	if err := objs.Cfg.Set(cfg); err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, objs.Cfg.Size())
	if err := objs.Cfg.Read(raw); err != nil {
		t.Fatal(err)
	}
	// struct config as clang lays it out: enabled, 7 bytes of padding,
	// limit, kind, level:3 delta:5 in byte 20, flag in bit 0 of 21, the
	// union at 24, owner, range.
	want := []byte{1, 0, 0, 0, 0, 0, 0, 0}
	want = binary.LittleEndian.AppendUint64(want, 1000)
	want = binary.LittleEndian.AppendUint32(want, 2)
	want = append(want, 5|(-7&0x1f)<<3, 1, 0, 0)
	want = binary.LittleEndian.AppendUint64(want, 0x1122334455667788)
	want = binary.LittleEndian.AppendUint32(want, 42)
	want = binary.LittleEndian.AppendUint16(want, 80)
	want = binary.LittleEndian.AppendUint16(want, 443)
	if !bytes.Equal(raw, want) {
		t.Errorf("cfg bytes\n got %x\nwant %x", raw, want)
	}

	key := GenFlowKey{Proto: 6, Addr: *cfg.AsU32(), Port: 80}
	if err := objs.Flows.Update(key, GenFlowStats{Packets: 3, Bytes: 300}, bpf.UpdateNoExist); err != nil {
		t.Fatal(err)
	}
	rd, err := ringbuf.NewReader(objs.Events)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()

	ret, err := objs.GenEcho.TestRun(make([]byte, 64))
	if err != nil {
		t.Fatal(err)
	}
	if ret != 1 {
		t.Fatalf("gen_echo returned %d: it did not find flows[%+v]", ret, key)
	}

	echo, err := objs.Echo.Get()
	if err != nil {
		t.Fatal(err)
	}
	wantEcho := GenEcho{Limit: 1000, AsU64: 0x1122334455667788, Delta: -7, Level: 5, Flag: 1, Owner: 42, Hi: 443, Enabled: 1, Kind: 2}
	if echo != wantEcho {
		t.Errorf("the program read cfg as %+v, want %+v", echo, wantEcho)
	}
	if totals, err := objs.Totals.Get(); err != nil || totals != (GenFlowStats{Packets: 3, Bytes: 300}) {
		t.Errorf("totals = %+v, %v; want {3 300}", totals, err)
	}
	moved := GenFlowKey{Proto: 17, Addr: 42, Port: 443}
	if next, err := objs.Flows.Lookup(moved); err != nil || next != (GenFlowStats{Packets: 4, Bytes: 1000}) {
		t.Errorf("flows[%+v] = %+v, %v; want {4 1000}", moved, next, err)
	}
	if _, err := objs.Flows.Lookup(GenFlowKey{Proto: 99}); !errors.Is(err, bpf.ErrKeyNotExist) {
		t.Errorf("lookup of an absent key: %v, want ErrKeyNotExist", err)
	}
	var iterErr error
	seen := map[GenFlowKey]GenFlowStats{}
	for k, v := range objs.Flows.All(&iterErr) {
		seen[k] = v
	}
	if iterErr != nil || len(seen) != 2 || seen[key].Packets != 3 || seen[moved].Packets != 4 {
		t.Errorf("All saw %+v, %v", seen, iterErr)
	}
	// The key the program wrote, as bytes: padding zero.
	rawKey, rawValue := make([]byte, 12), make([]byte, 16)
	wantKey := []byte{17, 0, 0, 0, 42, 0, 0, 0, 0xbb, 0x01, 0, 0}
	if err := objs.Flows.Map.Lookup(wantKey, rawValue); err != nil {
		t.Errorf("raw lookup of %x: %v", wantKey, err)
	}
	it := objs.Flows.Map.Iterate()
	found := false
	for it.Next(rawKey, rawValue) {
		found = found || bytes.Equal(rawKey, wantKey)
	}
	if !found || it.Err() != nil {
		t.Errorf("no key %x in the map (%v)", wantKey, it.Err())
	}
	if err := objs.Flows.Delete(moved); err != nil {
		t.Error(err)
	}

	rd.SetDeadline(time.Now().Add(5 * time.Second))
	rec, err := rd.Read()
	if err != nil {
		t.Fatal(err)
	}
	var ev GenEvent
	if err := binary.Read(bytes.NewReader(rec.RawSample), binary.NativeEndian, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Pid != 42 || ev.Kind != GenKindClose || ev.Value != 1000 || ev.Comm[0] != 'g' {
		t.Errorf("event %+v", ev)
	}
}
