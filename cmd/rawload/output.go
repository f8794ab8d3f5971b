package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/rawload/rawload/bpf"
)

// writeJSON prints v as one indented JSON document.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table prints aligned columns; rows are tab-separated cells.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) {
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// formatDuration keeps microseconds: verifier times of small programs are
// tens of microseconds.
func formatDuration(d time.Duration) string {
	return d.Round(time.Microsecond).String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// errorSummary is one line for a table or a JSON field. A verifier error
// keeps its errno and the log line that says why, not the whole log.
func errorSummary(err error) string {
	if err == nil {
		return ""
	}
	var verr *bpf.VerifierError
	if errors.As(err, &verr) && verr.Err == nil {
		msg := fmt.Sprintf("program %s: load: %s", verr.Program, errnoText(verr.Errno))
		if reason := verifierReason(verr.Log); reason != "" {
			msg += ": " + reason
		}
		return msg
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}

// errnoText names the kernel-internal ENOTSUPP, which leaks out of
// bpf(2) for program kinds the kernel cannot load this way and which
// libc does not know.
func errnoText(errno syscall.Errno) string {
	const enotsupp = 524
	if errno == enotsupp {
		return "ENOTSUPP (errno 524): not supported by the kernel"
	}
	return errno.Error()
}

// verifierReason is the last line of a verifier log before its statistics:
// where the verifier gave up and why.
func verifierReason(log string) string {
	lines := strings.Split(strings.TrimSpace(log), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "processed ") || strings.HasPrefix(line, "verification time") ||
			strings.HasPrefix(line, "stack depth") {
			continue
		}
		return line
	}
	return ""
}
