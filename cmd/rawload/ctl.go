package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/rawload/rawload/bpf/control"
)

const (
	// ctlTimeout bounds a request: enabling hundreds of programs takes
	// seconds, not minutes.
	ctlTimeout = 5 * time.Minute
	// ctlReplyMax bounds a reply line: the status of thousands of
	// programs.
	ctlReplyMax = 64 << 20
)

// runCtl sends one request to a `rawload serve` and prints its reply:
// exit status 0 when the server did it, 1 when it refused.
func runCtl(_ context.Context, args []string, stdout, stderr io.Writer) int {
	const synopsis = "--socket PATH status [--json] | enable NAME... | disable NAME... | reload PROGRAM... | resize MAP N | stop"
	fs := newFlagSet("ctl", synopsis, stderr)
	socket := fs.String("socket", "", "the server's unix socket (required)")
	asJSON := fs.Bool("json", false, "status: print the server's JSON reply")
	words, code, ok := parseCommandLine(fs, args, 1, -1)
	if !ok {
		return code
	}
	req, err := ctlRequest(words, *asJSON)
	if err == nil && *socket == "" {
		err = errors.New("--socket PATH is required")
	}
	if err != nil {
		fmt.Fprintf(stderr, "rawload ctl: %v\n", err)
		fs.Usage()
		return exitUsage
	}
	line, err := ctlExchange(*socket, req)
	if err != nil {
		fmt.Fprintf(stderr, "rawload ctl: %v\n", err)
		return exitFailure
	}
	reply, err := decodeJSON(line)
	obj, _ := reply.(jsonObject)
	okValue, _ := obj.get("ok")
	if err != nil || okValue == nil {
		fmt.Fprintf(stderr, "rawload ctl: bad reply from the server: %q\n", truncate(line, 200))
		return exitFailure
	}
	if okValue != true {
		msg, _ := obj.get("error")
		fmt.Fprintf(stderr, "rawload ctl: %s: %v\n", words[0], msg)
		return exitFailure
	}
	switch {
	case words[0] == "status" && *asJSON:
		stdout.Write(line)
	case words[0] == "status":
		text, _ := obj.get("text")
		fmt.Fprint(stdout, text)
	}
	return exitOK
}

// ctlRequest makes the request line of a command.
func ctlRequest(words []string, asJSON bool) ([]byte, error) {
	op, rest := words[0], words[1:]
	req := map[string]any{"op": op}
	switch op {
	case "status":
		if len(rest) == 0 {
			req["format"] = "text"
			if asJSON {
				req["format"] = "json"
			}
		}
	case "enable", "disable":
		req["features"] = rest
	case "reload":
		req["programs"] = rest
	case "resize":
		if len(rest) == 2 {
			n, err := strconv.ParseUint(rest[1], 10, 32)
			if err != nil {
				return nil, fmt.Errorf("resize %s %s: %w", rest[0], rest[1], err)
			}
			req["map"], req["max_entries"] = rest[0], n
			rest = nil
		}
	case "stop":
	default:
		return nil, fmt.Errorf("unknown request %q", op)
	}
	switch {
	case (op == "status" || op == "stop" || op == "resize") && len(rest) > 0:
		return nil, fmt.Errorf("%s: unexpected arguments %q", op, rest)
	case (op == "enable" || op == "disable" || op == "reload") && len(rest) == 0:
		return nil, fmt.Errorf("%s needs at least one name", op)
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, req); err != nil {
		return nil, err
	}
	return compactJSON(buf.Bytes()), nil
}

// ctlExchange sends req and returns the reply line.
func ctlExchange(socket string, req []byte) ([]byte, error) {
	c, err := control.Dial(socket)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(ctlTimeout))
	// A server that refuses the connection replies and closes without
	// reading: its reply is read all the same.
	_, werr := c.Write(req)
	r := bufio.NewReader(io.LimitReader(c, ctlReplyMax))
	line, err := r.ReadBytes('\n')
	if err != nil {
		if werr != nil {
			err = werr
		}
		return nil, fmt.Errorf("control socket %s: no reply: %w", socket, err)
	}
	return line, nil
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
