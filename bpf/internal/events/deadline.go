package events

import (
	"sync/atomic"
	"time"
)

// Deadline is a reader's deadline, set from any goroutine while a Read
// waits. The zero value has none.
type Deadline struct {
	ns atomic.Int64 // UnixNano, 0 for none
}

// Set replaces the deadline; the zero time removes it.
func (d *Deadline) Set(t time.Time) {
	var ns int64
	if !t.IsZero() {
		ns = t.UnixNano()
	}
	d.ns.Store(ns)
}

// Time is the deadline, the zero time for none.
func (d *Deadline) Time() time.Time {
	if ns := d.ns.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// Passed reports whether the deadline is set and not in the future.
func (d *Deadline) Passed() bool {
	t := d.Time()
	return !t.IsZero() && !time.Now().Before(t)
}
