package main

import (
	"errors"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rawload/rawload/bpf"
)

// table prints aligned columns, two spaces apart, once flushed; the last
// cell of a row is not padded. (text/tabwriter does the same, for more
// bytes in the static binary.)
type table struct {
	w    io.Writer
	rows [][]string
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{w: w}
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) flush() error {
	var widths []int
	for _, row := range t.rows {
		for i, cell := range row[:max(len(row)-1, 0)] {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	var b strings.Builder
	for _, row := range t.rows {
		for i, cell := range row {
			b.WriteString(cell)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell)+2))
			}
		}
		b.WriteByte('\n')
	}
	t.rows = nil
	_, err := io.WriteString(t.w, b.String())
	return err
}

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
