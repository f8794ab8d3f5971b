package bpf

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/syscall"
)

// tracefsMountPoint is where rawload mounts tracefs when it is mounted
// nowhere, as bpftool mounts bpffs: the place the kernel made for it.
const tracefsMountPoint = "/sys/kernel/tracing"

// tracefsMu serialises finding and mounting tracefs, so that two attaches
// at once do not both mount it.
var tracefsMu sync.Mutex

// mountsFile is the mount table read to find tracefs; tests replace it.
var mountsFile = "/proc/self/mounts"

// tracefs returns the directory of a mounted tracefs, mounting one at
// /sys/kernel/tracing when none is mounted (needs CAP_SYS_ADMIN). The
// answer is not kept: the mount table is read again each time, so a
// tracefs unmounted since is not trusted.
func tracefs() (string, error) {
	tracefsMu.Lock()
	defer tracefsMu.Unlock()
	dir, err := findTracefs(mountsFile)
	if err != nil || dir != "" {
		return dir, err
	}
	if st, err := os.Stat(tracefsMountPoint); err != nil || !st.IsDir() {
		return "", fmt.Errorf("tracefs is not mounted and %s does not exist: this kernel has no tracefs (CONFIG_TRACING): %w",
			tracefsMountPoint, fs.ErrNotExist)
	}
	if err := unix.Mount("tracefs", tracefsMountPoint, "tracefs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return "", fmt.Errorf("tracefs is not mounted, and mounting it at %s failed (needs CAP_SYS_ADMIN; or mount it: mount -t tracefs tracefs %s): %w",
			tracefsMountPoint, tracefsMountPoint, err)
	}
	return tracefsMountPoint, nil
}

// findTracefs finds a tracefs in a mount table, or the tracing directory
// of a mounted debugfs; "" when there is neither.
func findTracefs(table string) (string, error) {
	data, err := os.ReadFile(table)
	if err != nil {
		return "", fmt.Errorf("reading the mount table to find tracefs: %w", err)
	}
	var debugfs []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 {
			continue
		}
		dir := unescapeMount(f[1])
		switch f[2] {
		case "tracefs":
			return dir, nil
		case "debugfs":
			debugfs = append(debugfs, dir)
		}
	}
	// Before 4.1 tracefs lived inside debugfs; a kernel since mounts it
	// there automatically, which the table shows as a tracefs above.
	for _, d := range debugfs {
		if st, err := os.Stat(filepath.Join(d, "tracing", "events")); err == nil && st.IsDir() {
			return filepath.Join(d, "tracing"), nil
		}
	}
	return "", nil
}

// unescapeMount undoes the octal escapes (\040 for a space) of a path in
// /proc/mounts.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// traceName checks one element of a tracefs path taken from a section or
// an option: names never become paths (invariant 8), so only what the
// kernel uses for events, groups and symbols is allowed.
func traceName(what, name string) error {
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("%s %q is not a name", what, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return fmt.Errorf("%s %q has %q, which no tracefs name has", what, name, c)
		}
	}
	return nil
}

// tracepointID reads the id of the trace event group/name from tracefs.
func tracepointID(group, name string) (uint64, error) {
	if err := traceName("tracepoint group", group); err != nil {
		return 0, err
	}
	if err := traceName("tracepoint", name); err != nil {
		return 0, err
	}
	dir, err := tracefs()
	if err != nil {
		return 0, err
	}
	path := filepath.Join(dir, "events", group, name, "id")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("no tracepoint %s/%s (%s does not exist): %w", group, name, path, err)
	}
	if err != nil {
		return 0, fmt.Errorf("tracepoint %s/%s: %w", group, name, err)
	}
	id, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("tracepoint %s/%s: %s holds %q, not an id", group, name, path, data)
	}
	return id, nil
}

// openTracepoint opens the perf event of a trace event id: one event on
// CPU 0 for every task, to which a program attaches for all CPUs.
func openTracepoint(id uint64, pid int) (int, error) {
	attr := syscall.PerfEventAttr{Type: syscall.PerfTypeTracepoint, Config: id}
	cpu := 0
	if pid != -1 {
		cpu = -1
	}
	return syscall.PerfEventOpen(&attr, pid, cpu, -1, syscall.PerfFlagFDCloexec)
}

// probeEventSeq numbers the trace events rawload makes in kprobe_events
// and uprobe_events, so that names in one process never collide.
var probeEventSeq atomic.Uint64

// probeEventGroup is the group of rawload's legacy probe events.
const probeEventGroup = "rawload"

// probeEvent is a kprobe or uprobe made through tracefs's kprobe_events or
// uprobe_events: the legacy interface of kernels without the PMUs.
type probeEvent struct {
	file string // kprobe_events or uprobe_events, in tracefs
	name string // the event's name in probeEventGroup
	id   uint64
}

// newProbeEvent writes definition ("p:GROUP/NAME target", with GROUP/NAME
// filled in) to tracefs's file, and reads the event's id.
func newProbeEvent(file, kind, target string) (*probeEvent, error) {
	dir, err := tracefs()
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(target, " \t\n") {
		return nil, fmt.Errorf("%s target %q has white space, which %s cannot take", file, target, file)
	}
	name := fmt.Sprintf("rawload_%d_%d", os.Getpid(), probeEventSeq.Add(1))
	e := &probeEvent{file: filepath.Join(dir, file), name: name}
	if err := writeProbeEvents(e.file, fmt.Sprintf("%s:%s/%s %s", kind, probeEventGroup, name, target)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", e.file, err)
		}
		return nil, fmt.Errorf("creating the trace event %q in %s: %w", target, e.file, err)
	}
	idPath := filepath.Join(dir, "events", probeEventGroup, name, "id")
	data, err := os.ReadFile(idPath)
	if err == nil {
		e.id, err = strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
	}
	if err != nil {
		e.remove()
		return nil, fmt.Errorf("reading the id of the trace event %s: %w", idPath, err)
	}
	return e, nil
}

// remove deletes the event; it must have no perf event open.
func (e *probeEvent) remove() error {
	return writeProbeEvents(e.file, fmt.Sprintf("-:%s/%s", probeEventGroup, e.name))
}

func writeProbeEvents(file, line string) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(line + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// pmuType reads the perf type of a dynamic PMU (kprobe, uprobe) from
// sysfs; found is false when the kernel has no such PMU.
func pmuType(pmu string) (typ uint32, found bool, err error) {
	path := filepath.Join("/sys/bus/event_source/devices", pmu, "type")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 32)
	if err != nil {
		return 0, false, fmt.Errorf("%s holds %q, not a perf type", path, data)
	}
	return uint32(v), true, nil
}

// pmuConfigBit reads the first config bit of a PMU format field, such
// as "config:0" (retprobe) or "config:32-63" (ref_ctr_offset).
func pmuConfigBit(pmu, field string) (uint, error) {
	path := filepath.Join("/sys/bus/event_source/devices", pmu, "format", field)
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	text := strings.TrimSpace(string(data))
	bits, ok := strings.CutPrefix(text, "config:")
	if !ok {
		return 0, fmt.Errorf("%s holds %q, not config:BIT", path, text)
	}
	first, _, _ := strings.Cut(bits, "-")
	bit, err := strconv.ParseUint(first, 10, 6)
	if err != nil {
		return 0, fmt.Errorf("%s holds %q, not config:BIT", path, text)
	}
	return uint(bit), nil
}
