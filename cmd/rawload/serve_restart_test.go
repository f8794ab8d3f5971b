package main

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/testutil"
	rawsys "github.com/rawload/rawload/syscall"
)

// TestServeRestartKeepsLink: a serve process stopped with SIGUSR1 leaves
// its tracepoint program attached through a pinned link, a new serve
// process with the same --pin takes it over (the counter map adopted,
// its own program attached before the old link goes), and the counter
// rises all along; SIGTERM then detaches everything.
func TestServeRestartKeepsLink(t *testing.T) {
	requireKernel(t)
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	pin := testutil.BPFFSDir(t)
	dir := t.TempDir()
	features := filepath.Join(dir, "features.json")
	if err := os.WriteFile(features, []byte(serveFeatures), 0o644); err != nil {
		t.Fatal(err)
	}
	obj, err := filepath.Abs(testdata("features.o"))
	if err != nil {
		t.Fatal(err)
	}
	socket := filepath.Join(dir, "rawload.sock")
	start := func() (*exec.Cmd, *lockedBuffer) {
		t.Helper()
		out := &lockedBuffer{}
		cmd := exec.Command(bin, "serve", "--socket", socket, "--features", features, "--pin", pin, "--enable", "trace", obj)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "serving"); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("serve did not start:\n%s", out.String())
			}
		}
		return cmd, out
	}
	stopWith := func(cmd *exec.Cmd, out *lockedBuffer, sig syscall.Signal) {
		t.Helper()
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("serve after %v: %v\n%s", sig, err, out.String())
		}
	}

	first, firstOut := start()
	st := serveStatus(t, socket)
	enter := st.program(t, "count_enter")
	if len(enter.Links) != 1 {
		t.Fatalf("count_enter %+v", enter)
	}
	oldLink, hitsID := enter.Links[0].ID, st.bpfMap(t, "hits").ID
	hits := func() uint64 {
		fd, err := rawsys.MapGetFDByID(hitsID)
		if err != nil {
			t.Fatalf("map hits (id %d): %v", hitsID, err)
		}
		defer unix.Close(fd)
		val := make([]byte, 8)
		if err := rawsys.MapLookupElem(fd, make([]byte, 4), val); err != nil {
			t.Fatal(err)
		}
		return binary.NativeEndian.Uint64(val)
	}
	rising := func(what string, from uint64) uint64 {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
			for range 50 {
				unix.Getppid()
			}
			if n := hits(); n > from {
				return n
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: hits[0] stays at %d", what, from)
			}
		}
	}
	count := rising("first serve", 0)

	stopWith(first, firstOut, syscall.SIGUSR1)
	if !strings.Contains(firstOut.String(), "handed over") {
		t.Errorf("first serve's output:\n%s", firstOut.String())
	}
	checkInKernel(t, "link", rawsys.LinkGetNextID, oldLink)
	count = rising("no serve running", count)

	second, secondOut := start()
	if !strings.Contains(secondOut.String(), "resumed from") {
		t.Errorf("second serve's output:\n%s", secondOut.String())
	}
	st = serveStatus(t, socket)
	enter = st.program(t, "count_enter")
	if !st.feature(t, "trace").Enabled || len(enter.Links) != 1 || enter.Links[0].ID == oldLink {
		t.Fatalf("after the restart: %+v", enter)
	}
	if id := st.bpfMap(t, "hits").ID; id != hitsID {
		t.Errorf("hits is map %d after the restart, was %d: not adopted", id, hitsID)
	}
	checkGone(t, "link", rawsys.LinkGetNextID, oldLink)
	rising("second serve", count)

	stopWith(second, secondOut, syscall.SIGTERM)
	checkGone(t, "link", rawsys.LinkGetNextID, enter.Links[0].ID)
	checkGone(t, "program", rawsys.ProgGetNextID, enter.ID)
	checkGone(t, "map", rawsys.MapGetNextID, hitsID)
	if entries, _ := os.ReadDir(pin); len(entries) != 0 {
		t.Errorf("left under --pin: %v", entries)
	}
}
