package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	rawsys "github.com/rawload/rawload/syscall"
)

// serveFeatures is the features file of the serve tests, over
// testdata/features.o.
const serveFeatures = `{"features": {
	"trace": [["count_fexit", "count_enter"]],
	"exits": ["count_exit*"],
	"broken": ["count_other", "bad_count"]
}}`

// startServe runs `rawload serve` in-process on features.o and returns
// its socket, its output and a function that waits for its exit code.
func startServe(t *testing.T, ctx context.Context, extra ...string) (socket string, out *lockedBuffer, wait func() int) {
	t.Helper()
	dir := t.TempDir()
	features := filepath.Join(dir, "features.json")
	if err := os.WriteFile(features, []byte(serveFeatures), 0o644); err != nil {
		t.Fatal(err)
	}
	socket = filepath.Join(dir, "rawload.sock")
	out = &lockedBuffer{}
	done := make(chan int, 1)
	args := append([]string{"serve", "--socket", socket, "--features", features, "--idle", "1"}, extra...)
	go func() { done <- run(ctx, append(args, testdata("features.o")), out, out) }()
	code := -1
	wait = func() int {
		if code < 0 {
			select {
			case code = <-done:
			case <-time.After(20 * time.Second):
				t.Fatalf("serve did not exit:\n%s", out.String())
			}
		}
		return code
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if strings.Contains(out.String(), "serving") {
			return socket, out, wait
		}
		select {
		case code = <-done:
			t.Fatalf("serve exited %d:\n%s", code, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", out.String())
		}
	}
}

// ctl runs `rawload ctl --socket socket args...` in-process.
func ctl(t *testing.T, socket string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return rawload(t, append([]string{"ctl", "--socket", socket}, args...)...)
}

func mustCtl(t *testing.T, socket string, args ...string) string {
	t.Helper()
	stdout, stderr, code := ctl(t, socket, args...)
	if code != exitOK {
		t.Fatalf("ctl %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout, stderr)
	}
	return stdout
}

// serveStatus asks for the status as JSON, decoded strictly into the
// server's own reply type.
func serveStatus(t *testing.T, socket string) statusReply {
	t.Helper()
	out := mustCtl(t, socket, "status", "--json")
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Fatalf("status --json is not one line:\n%s", out)
	}
	var st statusReply
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		t.Fatalf("decoding %s: %v", out, err)
	}
	return st
}

func (r statusReply) program(t *testing.T, name string) programRecord {
	t.Helper()
	for _, p := range r.Programs {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no program %s in the status", name)
	return programRecord{}
}

func (r statusReply) feature(t *testing.T, name string) featureRecord {
	t.Helper()
	for _, f := range r.Features {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("no feature %s in the status", name)
	return featureRecord{}
}

func (r statusReply) bpfMap(t *testing.T, name string) mapRecord {
	t.Helper()
	for _, m := range r.Maps {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("no map %s in the status", name)
	return mapRecord{}
}

// kernelIDs walks BPF_*_GET_NEXT_ID: every id of that kind in the kernel.
func kernelIDs(t *testing.T, next func(uint32) (uint32, error)) map[uint32]bool {
	t.Helper()
	ids := make(map[uint32]bool)
	for id := uint32(0); ; {
		n, err := next(id)
		if errors.Is(err, unix.ENOENT) {
			return ids
		}
		if err != nil {
			t.Fatalf("get next id after %d: %v", id, err)
		}
		ids[n], id = true, n
	}
}

// checkInKernel fails unless every id is there.
func checkInKernel(t *testing.T, what string, next func(uint32) (uint32, error), ids ...uint32) {
	t.Helper()
	have := kernelIDs(t, next)
	for _, id := range ids {
		if id == 0 || !have[id] {
			t.Errorf("%s %d is not in the kernel", what, id)
		}
	}
}

// checkGone fails unless every id leaves the kernel within seconds:
// programs and maps go after an RCU grace period.
func checkGone(t *testing.T, what string, next func(uint32) (uint32, error), ids ...uint32) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		have := kernelIDs(t, next)
		var left []uint32
		for _, id := range ids {
			if have[id] {
				left = append(left, id)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s %v still in the kernel", what, left)
			return
		}
	}
}

// linkedProgram is the program id a link runs, from the kernel.
func linkedProgram(t *testing.T, linkID uint32) uint32 {
	t.Helper()
	fd, err := rawsys.LinkGetFDByID(linkID)
	if err != nil {
		t.Fatalf("link %d: %v", linkID, err)
	}
	defer unix.Close(fd)
	info, err := rawsys.LinkInfoByFD(fd)
	if err != nil {
		t.Fatal(err)
	}
	return info.ProgID
}

// enableStats turns kernel.bpf_stats_enabled on for the test.
func enableStats(t *testing.T) {
	t.Helper()
	const path = "/proc/sys/kernel/bpf_stats_enabled"
	old, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("kernel.bpf_stats_enabled: %v", err)
	}
	if err := os.WriteFile(path, []byte("1"), 0o644); err != nil {
		t.Skipf("enabling kernel.bpf_stats_enabled: %v", err)
	}
	t.Cleanup(func() { os.WriteFile(path, old, 0o644) })
}

// TestServe drives `rawload serve` with `rawload ctl` through a whole
// life: enable (a fallback chosen for the refused fexit), status, run
// counts, reload, resize, a failed enable, bad and hostile clients,
// disable and stop, checking the kernel after each step.
func TestServe(t *testing.T) {
	requireKernel(t)
	enableStats(t)
	before := openFDs(t)
	socket, out, wait := startServe(t, context.Background())
	defer func() {
		if t.Failed() {
			t.Logf("serve output:\n%s", out.String())
		}
	}()

	if st, err := os.Stat(socket); err != nil || st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0o600 {
		t.Fatalf("socket %s: %v, %v; want a socket of mode 0600", socket, st.Mode(), err)
	}
	st := serveStatus(t, socket)
	for _, p := range st.Programs {
		if p.Loaded || len(p.Links) > 0 {
			t.Errorf("%s running before any enable: %+v", p.Name, p)
		}
	}
	if !st.StatsEnabled {
		t.Error("the status says bpf stats are off")
	}

	// enable: the fexit program is refused here, count_enter runs.
	mustCtl(t, socket, "enable", "trace")
	st = serveStatus(t, socket)
	trace := st.feature(t, "trace")
	enter := st.program(t, "count_enter")
	if !trace.Enabled || len(trace.Members) != 1 || len(enter.Links) != 1 {
		t.Fatalf("after enable trace: %+v, %+v", trace, enter)
	}
	if m := trace.Members[0]; m.Chosen == "count_fexit" {
		t.Log("this kernel runs trampolines: count_fexit chosen")
		enter = st.program(t, "count_fexit")
	} else if m.Chosen != "count_enter" || len(m.Skipped) != 1 || m.Skipped[0].Pattern != "count_fexit" ||
		!strings.Contains(m.Skipped[0].Reason, "operation not permitted") {
		t.Fatalf("trace member %+v: want count_enter chosen, count_fexit skipped with EPERM", m)
	}
	if l := enter.Links[0]; l.Kind != "raw_tracepoint" || l.Target != "sys_enter" || l.ID == 0 {
		t.Errorf("count_enter link %+v", l)
	}
	checkInKernel(t, "program", rawsys.ProgGetNextID, enter.ID)
	checkInKernel(t, "link", rawsys.LinkGetNextID, enter.Links[0].ID)
	if got := linkedProgram(t, enter.Links[0].ID); got != enter.ID {
		t.Errorf("link %d runs program %d, the status says %d", enter.Links[0].ID, got, enter.ID)
	}
	if fexit := st.program(t, "count_fexit"); fexit.Loaded {
		t.Errorf("count_fexit loaded: %+v", fexit)
	}

	// A triggered event shows in the run count.
	for range 50 {
		unix.Getppid()
	}
	st = serveStatus(t, socket)
	if n := st.program(t, "count_enter").RunCount; n == 0 {
		t.Error("count_enter ran 0 times after system calls, with bpf stats on")
	}
	text := mustCtl(t, socket, "status")
	for _, want := range []string{"count_enter", "raw_tracepoint sys_enter (link ", "count_fexit skipped: ", "hits"} {
		if !strings.Contains(text, want) {
			t.Errorf("status lacks %q:\n%s", want, text)
		}
	}

	// A second feature shares hits.
	mustCtl(t, socket, "enable", "exits")
	st = serveStatus(t, socket)
	exit := st.program(t, "count_exit")
	hits := st.bpfMap(t, "hits")
	if !exit.Loaded || len(exit.Links) != 1 || !hits.Live || hits.Users != 2 {
		t.Fatalf("after enable exits: %+v, %+v", exit, hits)
	}
	checkInKernel(t, "program", rawsys.ProgGetNextID, enter.ID, exit.ID)
	checkInKernel(t, "map", rawsys.MapGetNextID, hits.ID)

	// reload: a new instance on the hook, the old one gone.
	mustCtl(t, socket, "reload", "count_enter")
	st = serveStatus(t, socket)
	reloaded := st.program(t, "count_enter")
	if reloaded.ID == enter.ID || len(reloaded.Links) != 1 || linkedProgram(t, reloaded.Links[0].ID) != reloaded.ID {
		t.Errorf("after reload %+v, before %+v", reloaded, enter)
	}
	checkGone(t, "program", rawsys.ProgGetNextID, enter.ID)
	enter = reloaded

	// resize: hits recreated with 16 entries, its users running again.
	mustCtl(t, socket, "resize", "hits", "16")
	st = serveStatus(t, socket)
	resized := st.bpfMap(t, "hits")
	if !resized.Live || resized.MaxEntries != 16 || resized.ID == hits.ID || resized.Users != 2 {
		t.Errorf("hits after resize: %+v, before %+v", resized, hits)
	}
	checkInKernel(t, "map", rawsys.MapGetNextID, resized.ID)
	checkGone(t, "map", rawsys.MapGetNextID, hits.ID)
	var linkIDs, progIDs []uint32
	for _, name := range []string{"count_enter", "count_exit"} {
		p := st.program(t, name)
		if !p.Loaded || len(p.Links) != 1 {
			t.Fatalf("%s after resize: %+v", name, p)
		}
		progIDs, linkIDs = append(progIDs, p.ID), append(linkIDs, p.Links[0].ID)
	}
	checkInKernel(t, "program", rawsys.ProgGetNextID, progIDs...)
	checkInKernel(t, "link", rawsys.LinkGetNextID, linkIDs...)

	// Refused requests: exit status 1, nothing changed.
	if _, stderr, code := ctl(t, socket, "enable", "broken"); code != exitFailure || !strings.Contains(stderr, "bad_count") {
		t.Errorf("enable broken: exit %d, %s", code, stderr)
	}
	if _, stderr, code := ctl(t, socket, "enable", "nosuch"); code != exitFailure || !strings.Contains(stderr, "no such feature") {
		t.Errorf("enable nosuch: exit %d, %s", code, stderr)
	}
	if _, _, code := ctl(t, socket, "resize", "nosuch", "4"); code != exitFailure {
		t.Errorf("resize nosuch: exit %d", code)
	}
	if _, _, code := ctl(t, socket, "frobnicate"); code != exitUsage {
		t.Errorf("ctl frobnicate: exit %d, want %d", code, exitUsage)
	}
	st = serveStatus(t, socket)
	if b := st.feature(t, "broken"); b.Enabled || !strings.Contains(b.Error, "bad_count") {
		t.Errorf("broken after a failed enable: %+v", b)
	}
	if p := st.program(t, "count_other"); p.Loaded {
		t.Errorf("count_other left loaded by a failed enable: %+v", p)
	}
	if m := st.bpfMap(t, "other_seen"); m.Live {
		t.Errorf("other_seen left live by a failed enable: %+v", m)
	}
	checkInKernel(t, "program", rawsys.ProgGetNextID, progIDs...)

	checkBadClients(t, socket)
	checkUnprivileged(t, socket)
	if _, _, code := ctl(t, socket, "status"); code != exitOK {
		t.Fatal("the server stopped answering after the bad clients")
	}

	// disable: the links and programs leave the kernel, and so does the
	// map with its last user.
	mustCtl(t, socket, "disable", "trace", "exits")
	st = serveStatus(t, socket)
	for _, p := range st.Programs {
		if p.Loaded || len(p.Links) > 0 {
			t.Errorf("%s still running after disable: %+v", p.Name, p)
		}
	}
	checkGone(t, "link", rawsys.LinkGetNextID, linkIDs...)
	checkGone(t, "program", rawsys.ProgGetNextID, progIDs...)
	checkGone(t, "map", rawsys.MapGetNextID, resized.ID)

	// Enabled again, then stopped: stop detaches everything too.
	mustCtl(t, socket, "enable", "trace")
	st = serveStatus(t, socket)
	enter = st.program(t, "count_enter")
	mustCtl(t, socket, "stop")
	if code := wait(); code != exitOK {
		t.Fatalf("serve exited %d after stop", code)
	}
	if len(enter.Links) == 1 {
		checkGone(t, "link", rawsys.LinkGetNextID, enter.Links[0].ID)
	}
	checkGone(t, "program", rawsys.ProgGetNextID, enter.ID)
	if _, err := os.Lstat(socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the socket outlived the server: %v", err)
	}
	if after := openFDs(t); after != before {
		t.Errorf("%d fds after serve, %d before", after, before)
	}
}

// request sends one raw line on c and reads the reply line.
func request(t *testing.T, c net.Conn, r *bufio.Reader, line string) (map[string]any, error) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	// A client the server turns away may find it gone before it writes:
	// its reply is read all the same.
	_, werr := io.WriteString(c, line)
	reply, err := r.ReadString('\n')
	if err != nil {
		return nil, errors.Join(werr, err)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(reply), &v); err != nil {
		t.Fatalf("reply %q: %v", reply, err)
	}
	return v, nil
}

// checkBadClients: malformed and unknown requests get an error reply and
// the connection stays usable; an oversized line and an idle client get
// an error and are closed; 100 clients at once are all answered.
func checkBadClients(t *testing.T, socket string) {
	t.Helper()
	c, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	for _, line := range []string{
		"{\"op\":\n", "not json\n", "[]\n", "{\"op\":\"status\"} x\n", "{\"op\":\"explode\"}\n", "{\"op\":[1]}\n",
		"{\"op\":\"enable\"}\n", "{\"op\":\"enable\",\"features\":\"trace\"}\n", "{\"op\":\"enable\",\"features\":[1]}\n",
		"{\"op\":\"resize\",\"map\":\"hits\",\"max_entries\":-1}\n", "{\"op\":\"resize\",\"map\":\"hits\",\"max_entries\":1e3}\n",
		"{\"op\":\"status\",\"op\":\"stop\"}\n", "{\"op\":\"stop\",\"now\":true}\n", "\xff\xfe\n", "{\"op\":\"st\\u0000atus\"}\n",
		strings.Repeat("[", 10000) + "\n",
	} {
		v, err := request(t, c, r, line)
		if err != nil {
			t.Fatalf("request %.40q: %v", line, err)
		}
		if v["ok"] != false || v["error"] == "" {
			t.Errorf("request %.40q: reply %v, want an error", line, v)
		}
	}
	if v, err := request(t, c, r, `{"op":"status"}`+"\n"); err != nil || v["ok"] != true {
		t.Errorf("status after bad requests: %v, %v", v, err)
	}

	// A line over 64 KiB: an error, then the connection closes.
	big, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	br := bufio.NewReader(big)
	go io.WriteString(big, `{"op":"enable","features":["`+strings.Repeat("a", 70<<10)+`"]}`+"\n")
	big.SetDeadline(time.Now().Add(10 * time.Second))
	if reply, err := br.ReadString('\n'); err != nil || !strings.Contains(reply, "over 65536 bytes") {
		t.Errorf("oversized line: %q, %v", reply, err)
	}
	// Closed with the rest of the line unread: EOF or a reset.
	if _, err := br.ReadString('\n'); err != io.EOF && !errors.Is(err, unix.ECONNRESET) {
		t.Errorf("the connection of an oversized line stayed open: %v", err)
	}

	// An idle client (--idle 1): an error, then closed.
	idle, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	idle.SetDeadline(time.Now().Add(10 * time.Second))
	ir := bufio.NewReader(idle)
	if reply, err := ir.ReadString('\n'); err != nil || !strings.Contains(reply, "no request for") {
		t.Errorf("idle client: %q, %v", reply, err)
	}
	if _, err := ir.ReadString('\n'); err != io.EOF {
		t.Errorf("the idle connection stayed open: %v", err)
	}

	// 100 clients at once: each is answered, some with "busy".
	var wg sync.WaitGroup
	var mu sync.Mutex
	answers := map[string]int{}
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("unix", socket)
			if err != nil {
				mu.Lock()
				answers["dial: "+err.Error()]++
				mu.Unlock()
				return
			}
			defer c.Close()
			v, err := request(t, c, bufio.NewReader(c), `{"op":"status"}`+"\n")
			key := "ok"
			switch {
			case err != nil:
				key = "error: " + err.Error()
			case v["ok"] != true:
				key = fmt.Sprint(v["error"])
				if strings.HasPrefix(key, "busy") {
					key = "busy"
				}
			}
			mu.Lock()
			answers[key]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	t.Logf("100 clients at once: %v", answers)
	if answers["ok"]+answers["busy"] != 100 || answers["ok"] == 0 {
		t.Errorf("100 clients at once: %v", answers)
	}
}

// checkUnprivileged runs `rawload ctl status` as uid 65534 from a copy
// of the test binary: the socket's mode keeps it out, and with the
// socket made its own, SO_PEERCRED does.
func checkUnprivileged(t *testing.T, socket string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "rawload-ctl-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "ctl.test")
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The socket's directories (the test's, and the one in it) let the
	// client reach the socket: only the socket's own mode keeps it out.
	for _, d := range []string{filepath.Dir(socket), filepath.Dir(filepath.Dir(socket))} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	const nobody = 65534
	ctlAs := func() (string, int) {
		cmd := exec.Command(bin, "-test.run=^TestServeCtlHelper$")
		cmd.Env = append(os.Environ(), "RAWLOAD_CTL_SOCKET="+socket)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		out, err := cmd.CombinedOutput()
		var exitErr *exec.ExitError
		if err != nil && !errors.As(err, &exitErr) {
			t.Fatalf("running ctl as uid %d: %v\n%s", nobody, err, out)
		}
		return string(out), cmd.ProcessState.ExitCode()
	}
	if out, code := ctlAs(); code != exitFailure || !strings.Contains(out, "permission denied") {
		t.Errorf("ctl as uid %d through a 0600 socket: exit %d\n%s", nobody, code, out)
	}
	if err := os.Chown(socket, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	defer os.Chown(socket, 0, 0)
	out, code := ctlAs()
	if code != exitFailure || !strings.Contains(out, "uid 65534 is neither root nor the server's uid") {
		t.Errorf("ctl as uid %d with the socket its own: exit %d, want the server's refusal\n%s", nobody, code, out)
	}
}

// TestServeCtlHelper is `rawload ctl status` in a child process of
// checkUnprivileged.
func TestServeCtlHelper(t *testing.T) {
	socket := os.Getenv("RAWLOAD_CTL_SOCKET")
	if socket == "" {
		t.Skip("run by TestServe as another user")
	}
	os.Exit(run(context.Background(), []string{"ctl", "--socket", socket, "status"}, os.Stdout, os.Stderr))
}

// TestServeSignal: cancelling serve's context, as SIGINT and SIGTERM
// do, detaches and unloads everything and exits 0; features given with
// --enable are running before the socket answers.
func TestServeSignal(t *testing.T) {
	requireKernel(t)
	before := openFDs(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	socket, out, wait := startServe(t, ctx, "--enable", "trace", "--enable", "exits")
	st := serveStatus(t, socket)
	var progIDs, linkIDs []uint32
	for _, p := range st.Programs {
		if p.Loaded {
			progIDs = append(progIDs, p.ID)
			for _, l := range p.Links {
				linkIDs = append(linkIDs, l.ID)
			}
		}
	}
	if len(progIDs) != 2 || len(linkIDs) != 2 {
		t.Fatalf("with --enable trace --enable exits: programs %v, links %v", progIDs, linkIDs)
	}
	checkInKernel(t, "program", rawsys.ProgGetNextID, progIDs...)
	checkInKernel(t, "link", rawsys.LinkGetNextID, linkIDs...)
	cancel()
	if code := wait(); code != exitOK {
		t.Fatalf("serve exited %d:\n%s", code, out.String())
	}
	checkGone(t, "link", rawsys.LinkGetNextID, linkIDs...)
	checkGone(t, "program", rawsys.ProgGetNextID, progIDs...)
	if after := openFDs(t); after != before {
		t.Errorf("%d fds after serve, %d before", after, before)
	}
}

// TestServeBadStart: what serve refuses before serving.
func TestServeBadStart(t *testing.T) {
	requireKernel(t)
	dir := t.TempDir()
	socket := filepath.Join(dir, "s")
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"features": {"x": [["count_enter", 3]]}}`), 0o644)
	missing := filepath.Join(dir, "missing.json")
	os.WriteFile(missing, []byte(`{"features": {"x": ["no_such_program"]}}`), 0o644)
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"serve", testdata("features.o")}, exitUsage},
		{[]string{"serve", "--socket", socket}, exitUsage},
		{[]string{"serve", "--socket", socket, "--features", bad, testdata("features.o")}, exitFailure},
		{[]string{"serve", "--socket", socket, "--features", missing, testdata("features.o")}, exitFailure},
		{[]string{"serve", "--socket", socket, "--max-entries", "nosuch=1", testdata("features.o")}, exitUsage},
		{[]string{"serve", "--socket", socket, "--enable", "bad_count", testdata("features.o")}, exitFailure},
		{[]string{"serve", "--socket", dir, testdata("features.o")}, exitFailure},
	} {
		if _, stderr, code := rawload(t, tc.args...); code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%s", tc.args, code, tc.code, stderr)
		}
	}
	if _, err := os.Lstat(socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed start left its socket: %v", err)
	}
}
