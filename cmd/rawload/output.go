package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rawload/rawload/bpf"
)

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
	if errors.As(err, &verr) {
		return verr.Error()
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}

// programError is errorSummary naming the program once: as its first
// words where the error does not name it already.
func programError(program string, err error) string {
	msg := errorSummary(err)
	if program == "" || strings.Contains(msg, "program "+program) {
		return msg
	}
	return "program " + program + ": " + msg
}
