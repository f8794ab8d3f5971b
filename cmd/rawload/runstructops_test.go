package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/syscall"
)

func congestionControls(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("/proc/sys/net/ipv4/tcp_available_congestion_control")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(data))
}

// TestRunStructOps: run registers an object's struct_ops maps (a TCP
// congestion control through a struct_ops link, another by a map
// update), reports each with the programs it runs, and unregisters both
// on the interrupt.
func TestRunStructOps(t *testing.T) {
	requireKernel(t)
	before := openFDs(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out lockedBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"run", "--json", testdata("structops.o")}, &out, &out) }()

	var records []attachRecord
	for deadline := time.Now().Add(10 * time.Second); json.Unmarshal([]byte(out.String()), &records) != nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no JSON from run:\n%s", out.String())
		}
	}
	states := map[string]attachRecord{}
	for _, r := range records {
		states[r.Program] = r
	}
	link := states["map rawload_cc"]
	if link.State != "attached" || link.LinkID == 0 {
		t.Errorf("map rawload_cc: %+v, want attached through a link", link)
	}
	if r := states["map rawload_cc_legacy"]; r.State != "attached" {
		t.Errorf("map rawload_cc_legacy: %+v, want attached", r)
	}
	if r := states["rl_init"]; r.State != "attached" || r.Target != "rawload_cc.init" {
		t.Errorf("rl_init: %+v, want attached as rawload_cc.init", r)
	}
	if _, ok := states["rl_unused"]; ok {
		t.Errorf("rl_unused, used by no struct_ops map, was selected: %+v", states["rl_unused"])
	}
	ccs := congestionControls(t)
	if !slices.Contains(ccs, "rawload_cc") || !slices.Contains(ccs, "rawload_cc_old") {
		t.Errorf("registered congestion controls: %v, want rawload_cc and rawload_cc_old", ccs)
	}

	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("run exited %d:\n%s", code, out.String())
	}
	ccs = congestionControls(t)
	if slices.Contains(ccs, "rawload_cc") || slices.Contains(ccs, "rawload_cc_old") {
		t.Errorf("after the interrupt the congestion controls are %v", ccs)
	}
	if fd, err := syscall.LinkGetFDByID(link.LinkID); err == nil {
		unix.Close(fd)
		t.Errorf("struct_ops link %d outlived run", link.LinkID)
	} else if !errors.Is(err, unix.ENOENT) {
		t.Errorf("link %d: %v", link.LinkID, err)
	}
	if after := openFDs(t); after != before {
		t.Errorf("open fds: %d before run, %d after", before, after)
	}
}
