package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rawload/rawload/bpf"
	"github.com/rawload/rawload/bpf/control"
)

const (
	// serveLineMax is the longest request line the server reads; a
	// longer one gets an error and the connection is closed.
	serveLineMax = 64 << 10
	// serveMaxClients is how many connections are served at once; the
	// next gets an error and is closed.
	serveMaxClients = 32
	// serveWriteTimeout bounds a reply to a client that does not read.
	serveWriteTimeout = 10 * time.Second
	// featuresFileMax bounds the features file.
	featuresFileMax = 1 << 20
	// handoverDirName is where, under --pin, SIGUSR1 leaves the running
	// programs' links and maps for the next serve.
	handoverDirName = "rawload-handover"
)

// server is `rawload serve`: a FeatureSet and the control socket that
// drives it.
type server struct {
	set    *bpf.FeatureSet
	ctx    context.Context // cancelled by SIGINT, SIGTERM and stop
	stop   context.CancelFunc
	idle   time.Duration
	uid    uint32
	stderr io.Writer

	clients atomic.Int32
	mu      sync.Mutex
	conns   map[*control.Conn]bool // nil once shutting down
	wg      sync.WaitGroup
}

// runServe opens the objects, enables the features asked for and serves
// the control socket until SIGINT, SIGTERM or a stop request; then it
// detaches and unloads everything and exits 0.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("serve", "--socket PATH [--features FILE] [--enable NAME]... [--iface NAME] [--cgroup PATH] [--pid PID] [--pin DIR] [--max-entries NAME=N]... [--parallel N] [--idle SECONDS] OBJ...", stderr)
	socket := fs.String("socket", "", "unix socket to serve the control protocol on (required)")
	featuresFile := fs.String("features", "", `JSON file {"features": {"NAME": ["program or glob", ["first choice", "fallback"]]}}; default: one feature per program`)
	var enable stringList
	fs.Var(&enable, "enable", "enable this feature at start (repeatable)")
	iface := fs.String("iface", "", "network interface of xdp, tc and tcx programs")
	cgroup := fs.String("cgroup", "", "cgroup v2 directory of cgroup and sockops programs")
	pid := fs.Int("pid", 0, "process uprobes and usdt probes are narrowed to; 0 for all")
	pin := fs.String("pin", "", "bpffs directory of maps pinned by name, and where SIGUSR1 leaves the running programs for the next serve")
	idle := fs.Int("idle", 30, "close a client silent for this many seconds")
	parallel := addParallelFlag(fs)
	sizes := addMaxEntriesFlag(fs)
	paths, code, ok := parseCommandLine(fs, args, 1, -1)
	if !ok {
		return code
	}
	if *socket == "" || *idle <= 0 {
		fmt.Fprintln(stderr, "rawload serve: --socket PATH is required, and --idle must be positive")
		fs.Usage()
		return exitUsage
	}
	if !checkParallel(fs, *parallel) {
		return exitUsage
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "rawload serve: %v\n", err)
		return exitFailure
	}
	if err := accessError(); err != nil {
		return fail(err)
	}
	var defs []bpf.Feature
	if *featuresFile != "" {
		var err error
		if defs, err = readFeatures(*featuresFile); err != nil {
			return fail(err)
		}
	}
	var objs []*bpf.Object
	defer func() {
		for _, o := range objs {
			o.Close()
		}
	}()
	for _, path := range paths {
		obj, err := bpf.Open(path, &bpf.Options{Parallelism: parallelism(fs, *parallel), PinPath: *pin, ReleaseUnusedMaps: true})
		if err != nil {
			return fail(err)
		}
		objs = append(objs, obj)
		if err := sizes.apply(obj, true); err != nil {
			return fail(fmt.Errorf("%s: %w", path, err))
		}
	}
	if err := sizes.checkNamed(objs); err != nil {
		fmt.Fprintf(stderr, "rawload serve: %v\n", err)
		return exitUsage
	}
	if defs == nil {
		defs = bpf.ProgramFeatures(objs)
	}
	attach := bpf.AttachOptions{Interface: *iface, Cgroup: *cgroup, PID: *pid}
	set, err := bpf.NewFeatureSet(objs, defs, &bpf.FeatureSetOptions{
		Parallelism: *parallel,
		Attach:      func(*bpf.Program) (bpf.AttachOptions, bool) { return attach, true },
	})
	if err != nil {
		return fail(err)
	}
	// SIGUSR1 hands the running programs over to the next serve with the
	// same --pin; registered before anything runs so that it never kills.
	leave := make(chan os.Signal, 1)
	signal.Notify(leave, syscall.SIGUSR1)
	defer signal.Stop(leave)
	handover := ""
	if *pin != "" {
		handover = filepath.Join(*pin, handoverDirName)
		rep, err := set.Resume(ctx, handover)
		if err != nil {
			set.Close()
			return fail(err)
		}
		if len(rep.Features)+len(rep.Maps)+len(rep.Updated)+len(rep.Replaced)+len(rep.Dropped) > 0 {
			fmt.Fprintf(stdout, "resumed from %s: features %s; maps %s; links updated in place %s, replaced %s; dropped %s\n", handover,
				orDash(joinComma(rep.Features)), orDash(joinComma(rep.Maps)), orDash(joinComma(rep.Updated)), orDash(joinComma(rep.Replaced)), orDash(joinComma(rep.Dropped)))
		}
	}
	ln, err := control.Listen(*socket)
	if err != nil {
		set.Close()
		return fail(err)
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	s := &server{set: set, ctx: sctx, stop: stop, idle: time.Duration(*idle) * time.Second, uid: uint32(os.Getuid()), stderr: stderr,
		conns: make(map[*control.Conn]bool)}
	if len(enable) > 0 {
		if err := set.Enable(sctx, enable...); err != nil {
			ln.Close()
			set.Close()
			return fail(err)
		}
	}
	fmt.Fprintf(stdout, "serving %d features on %s; enabled: %s\n", len(defs), *socket, orDash(joinComma(enable)))
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		s.accept(ln)
	}()
	handedOver := false
	for !handedOver && sctx.Err() == nil {
		select {
		case <-sctx.Done():
		case <-leave:
			if handover == "" {
				fmt.Fprintln(stderr, "rawload serve: SIGUSR1 leaves the programs running for the next serve, which needs --pin; still serving")
				continue
			}
			if err := set.Handover(handover); err != nil {
				fmt.Fprintf(stderr, "rawload serve: %v; still serving\n", err)
				continue
			}
			handedOver = true
		}
	}
	ln.Close()
	<-accepted
	s.mu.Lock()
	for c := range s.conns {
		c.Close() // wakes a handler waiting for a request
	}
	s.conns = nil
	s.mu.Unlock()
	s.wg.Wait()
	if handedOver {
		fmt.Fprintf(stdout, "handed over: the programs run on, pinned under %s for the next rawload serve --pin %s\n", handover, *pin)
		return exitOK
	}
	if err := set.Close(); err != nil {
		return fail(err)
	}
	fmt.Fprintln(stdout, "stopped: every program detached and unloaded")
	return exitOK
}

func joinComma(list []string) string {
	var b bytes.Buffer
	for i, s := range list {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(s)
	}
	return b.String()
}

// checkNamed refuses a --max-entries or --value-size for a map no
// object has.
func (sizes mapSizes) checkNamed(objs []*bpf.Object) error {
	for _, s := range sizes {
	names:
		for name := range s.values {
			for _, o := range objs {
				if o.Map(name) != nil {
					continue names
				}
			}
			return fmt.Errorf("--%s %s: no object has a map %q", s.flag, name, name)
		}
	}
	return nil
}

// accept serves connections until the listener is closed.
func (s *server) accept(ln *control.Listener) {
	for {
		c, err := ln.Accept()
		if errors.Is(err, os.ErrClosed) {
			return
		}
		if err != nil {
			// Out of fds, say: the clients in service may free some.
			fmt.Fprintf(s.stderr, "rawload serve: %v\n", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		s.mu.Lock()
		if s.conns == nil {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = true
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(c)
	}
}

// serveConn answers one client's requests, one line each, until it
// hangs up, stays idle, or breaks the protocol's limits.
func (s *server) serveConn(c *control.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		if s.conns != nil {
			delete(s.conns, c)
		}
		s.mu.Unlock()
		c.Close()
	}()
	if c.UID != 0 && c.UID != s.uid {
		s.reply(c, errorReply(fmt.Errorf("permission denied: uid %d is neither root nor the server's uid %d", c.UID, s.uid)))
		return
	}
	n := s.clients.Add(1)
	defer s.clients.Add(-1)
	if n > serveMaxClients {
		s.reply(c, errorReply(fmt.Errorf("busy: %d clients connected, at most %d", n-1, serveMaxClients)))
		return
	}
	r := bufio.NewReaderSize(c, serveLineMax+1)
	for {
		c.SetReadDeadline(time.Now().Add(s.idle))
		line, err := r.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			s.reply(c, errorReply(fmt.Errorf("request line over %d bytes", serveLineMax)))
			return
		case errors.Is(err, os.ErrDeadlineExceeded):
			s.reply(c, errorReply(fmt.Errorf("no request for %v", s.idle)))
			return
		case err != nil:
			return
		}
		reply, stop := s.request(line)
		if s.reply(c, reply) != nil {
			return
		}
		if stop {
			s.stop()
			return
		}
	}
}

// okReply is the reply to a request that worked, or errorReply's.
type okReply struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	Text  string `json:"text,omitempty"`
}

func errorReply(err error) okReply { return okReply{Error: err.Error()} }

// reply writes v as one line.
func (s *server) reply(c *control.Conn, v any) error {
	var buf bytes.Buffer
	if err := writeJSON(&buf, v); err != nil {
		return err
	}
	c.SetWriteDeadline(time.Now().Add(serveWriteTimeout))
	_, err := c.Write(compactJSON(buf.Bytes()))
	return err
}

// compactJSON puts writeJSON's indented document on one line: a raw
// newline in its output is always indentation, never in a string.
func compactJSON(b []byte) []byte {
	out := b[:0]
	for i := 0; i < len(b); i++ {
		if b[i] == '\n' {
			for i+1 < len(b) && b[i+1] == ' ' {
				i++
			}
			continue
		}
		out = append(out, b[i])
	}
	return append(out, '\n')
}

// request carries out one request line and returns the reply, and
// whether the server is to stop.
func (s *server) request(line []byte) (any, bool) {
	v, err := decodeJSON(line)
	if err != nil {
		return errorReply(err), false
	}
	req, ok := v.(jsonObject)
	if !ok {
		return errorReply(errors.New("a request is a JSON object")), false
	}
	opValue, _ := req.get("op")
	op, _ := opValue.(string)
	fields := map[string][]string{
		"status": {"format"}, "enable": {"features"}, "disable": {"features"},
		"reload": {"programs"}, "resize": {"map", "max_entries"}, "stop": nil,
	}
	want, known := fields[op]
	if !known {
		return errorReply(fmt.Errorf("unknown op %v: want status, enable, disable, reload, resize or stop", quoteValue(opValue))), false
	}
	args := make(map[string]any)
	for _, m := range req {
		if m.key == "op" {
			continue
		}
		if !containsName(want, m.key) {
			return errorReply(fmt.Errorf("op %s takes no %q", op, m.key)), false
		}
		args[m.key] = m.value
	}
	switch op {
	case "status":
		format := args["format"]
		if format == nil || format == "json" {
			return s.statusReply(), false
		}
		if format != "text" {
			return errorReply(fmt.Errorf("status: format %v: want \"json\" or \"text\"", quoteValue(format))), false
		}
		var buf bytes.Buffer
		printStatus(&buf, s.set.Status())
		return okReply{OK: true, Text: buf.String()}, false
	case "enable", "disable":
		names, err := nonEmptyStrings(args, "features")
		if err == nil && op == "enable" {
			err = s.set.Enable(s.ctx, names...)
		} else if err == nil {
			err = s.set.Disable(names...)
		}
		return result(err), false
	case "reload":
		names, err := nonEmptyStrings(args, "programs")
		if err == nil {
			err = s.set.Reload(names...)
		}
		return result(err), false
	case "resize":
		name, ok := args["map"].(string)
		num, _ := args["max_entries"].(jsonNumber)
		n, err := strconv.ParseUint(string(num), 10, 32)
		if !ok || err != nil {
			return errorReply(errors.New(`resize takes "map": NAME and "max_entries": N (an integer below 2^32)`)), false
		}
		return result(s.set.Resize(name, uint32(n))), false
	}
	return okReply{OK: true}, true // stop
}

func result(err error) okReply {
	if err != nil {
		return errorReply(err)
	}
	return okReply{OK: true}
}

func containsName(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// quoteValue shows a request value in an error, bounded.
func quoteValue(v any) string {
	s, ok := v.(string)
	if !ok {
		return fmt.Sprintf("of type %T", v)
	}
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strconv.Quote(s)
}

func nonEmptyStrings(args map[string]any, key string) ([]string, error) {
	v, ok := args[key]
	if !ok {
		return nil, fmt.Errorf("%q is missing", key)
	}
	list, err := jsonStrings(v)
	if err == nil && len(list) == 0 {
		err = errors.New("empty")
	}
	if err != nil {
		return nil, fmt.Errorf("%q: %w", key, err)
	}
	return list, nil
}

// readFeatures reads a features file:
//
//	{"features": {"NAME": ["program or glob", ["first choice", "fallback"], ...], ...}}
func readFeatures(path string) ([]bpf.Feature, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("features file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, featuresFileMax+1))
	if err == nil && len(data) > featuresFileMax {
		err = fmt.Errorf("larger than %d bytes", featuresFileMax)
	}
	if err != nil {
		return nil, fmt.Errorf("features file %s: %w", path, err)
	}
	defs, err := parseFeatures(data)
	if err != nil {
		return nil, fmt.Errorf("features file %s: %w", path, err)
	}
	return defs, nil
}

func parseFeatures(data []byte) ([]bpf.Feature, error) {
	v, err := decodeJSON(data)
	if err != nil {
		return nil, err
	}
	top, ok := v.(jsonObject)
	if !ok || len(top) != 1 || top[0].key != "features" {
		return nil, errors.New(`want {"features": {...}}`)
	}
	feats, ok := top[0].value.(jsonObject)
	if !ok {
		return nil, errors.New(`"features" is not an object`)
	}
	var defs []bpf.Feature
	for _, m := range feats {
		list, ok := m.value.([]any)
		if !ok || len(list) == 0 {
			return nil, fmt.Errorf("feature %q: want a non-empty array of programs", m.key)
		}
		def := bpf.Feature{Name: m.key}
		for i, e := range list {
			if s, ok := e.(string); ok {
				def.Members = append(def.Members, bpf.Member{s})
				continue
			}
			alts, err := jsonStrings(e)
			if err == nil && len(alts) == 0 {
				err = errors.New("no alternatives")
			}
			if err != nil {
				return nil, fmt.Errorf("feature %q: member %d: want a program or an array of alternatives: %w", m.key, i, err)
			}
			def.Members = append(def.Members, bpf.Member(alts))
		}
		defs = append(defs, def)
	}
	if len(defs) == 0 {
		return nil, errors.New("no features")
	}
	return defs, nil
}
