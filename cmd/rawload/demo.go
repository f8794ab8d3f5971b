package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rawload/rawload/bpf"
)

// dynloadObject is testdata/dynload.o without its DWARF; a test checks
// the copy is current.
//
//go:generate llvm-objcopy-19 --strip-debug --remove-section=.rel.BTF --remove-section=.rel.BTF.ext --remove-section=.llvm_addrsig ../../testdata/dynload.o dynload.o
//go:embed dynload.o
var dynloadObject []byte

func runDemoCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("demo", "", stderr)
	if _, code, ok := parseCommandLine(fs, args, 0, 0); !ok {
		return code
	}
	if err := runDemo(ctx, stdout); err != nil {
		fmt.Fprintf(stderr, "rawload demo: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// demo is the dynamic-load scenario of libbpf's test_dynamicload selftest:
// three raw_tp/sys_enter programs, each raising its own .bss flag when this
// process makes a syscall. prog1 is Disabled, prog2 Auto, prog3 Dynamic.
type demo struct {
	w     io.Writer
	obj   *bpf.Object
	progs [3]*bpf.Program
	flags [3]*bpf.Variable
	links []*bpf.Link
	slots map[string]int // map name -> fd number seen at Open
	step  int
}

// runDemo prints every step and what it observed, and fails at the first
// observation that differs from the expectation.
func runDemo(ctx context.Context, w io.Writer) error {
	obj, err := bpf.OpenBytes(dynloadObject, nil)
	if err != nil {
		return fmt.Errorf("opening the embedded dynload.o: %w", err)
	}
	d := &demo{w: w, obj: obj, slots: make(map[string]int)}
	defer d.close()
	for _, check := range []func(context.Context) error{
		d.open,
		d.configure,
		d.loadObject,
		d.disabledRefuses,
		d.autoRuns,
		d.dynamicRuns,
		d.detachStops,
		d.reloadRuns,
		d.slotsUnchanged,
	} {
		if err := check(ctx); err != nil {
			return err
		}
	}
	fmt.Fprintln(w, "demo: every expectation met")
	return nil
}

func (d *demo) printf(format string, args ...any) {
	d.step++
	fmt.Fprintf(d.w, "%2d. %s\n", d.step, fmt.Sprintf(format, args...))
}

func (d *demo) close() {
	for _, l := range d.links {
		l.Close()
	}
	d.obj.Close()
}

func (d *demo) open(context.Context) error {
	for i := range d.progs {
		name := fmt.Sprintf("prog%d", i+1)
		if d.progs[i] = d.obj.Program(name); d.progs[i] == nil {
			return fmt.Errorf("the embedded object has no program %s", name)
		}
		v, err := d.obj.Variable(name + "_called")
		if err != nil {
			return err
		}
		d.flags[i] = v
	}
	for _, name := range []string{".bss", ".data"} {
		m := d.obj.Map(name)
		if m == nil {
			return fmt.Errorf("the embedded object has no map %s", name)
		}
		if m.Live() {
			return fmt.Errorf("map %s is live before anything is loaded", name)
		}
		d.slots[name] = m.FD()
	}
	d.printf("open dynload.o: prog1, prog2, prog3 in %s; fd slots reserved before any load: .bss = fd %d, .data = fd %d",
		d.progs[0].Section(), d.slots[".bss"], d.slots[".data"])
	return nil
}

func (d *demo) configure(context.Context) error {
	myPid, err := d.obj.Variable("my_pid")
	if err != nil {
		return err
	}
	pid := os.Getpid()
	if err := myPid.Write(binary.NativeEndian.AppendUint32(nil, uint32(pid))); err != nil {
		return err
	}
	for i, t := range []bpf.LoadType{bpf.LoadDisabled, bpf.LoadAuto, bpf.LoadDynamic} {
		if err := d.progs[i].SetLoadType(t); err != nil {
			return err
		}
	}
	d.printf("my_pid = %d written to .data before load; load types: prog1 %s, prog2 %s, prog3 %s",
		pid, d.progs[0].LoadType(), d.progs[1].LoadType(), d.progs[2].LoadType())
	return nil
}

func (d *demo) loadObject(ctx context.Context) error {
	if err := d.obj.Load(ctx); err != nil {
		return fmt.Errorf("Object.Load: %w", err)
	}
	if err := d.expectLoaded(false, true, false, true); err != nil {
		return fmt.Errorf("after Object.Load: %w", err)
	}
	d.printf("Object.Load: prog2 loaded (fd %d); prog1 and prog3 not loaded", d.progs[1].FD())
	return nil
}

func (d *demo) disabledRefuses(context.Context) error {
	err := d.progs[0].Load()
	if !errors.Is(err, bpf.ErrDisabled) {
		return fmt.Errorf("prog1.Load: got %v, want %v", err, bpf.ErrDisabled)
	}
	d.printf("prog1.Load: prog1 refused to load: %v", err)
	return nil
}

func (d *demo) autoRuns(context.Context) error {
	if err := d.attach(d.progs[1]); err != nil {
		return err
	}
	seen, err := d.triggerAndExpect(false, true, false)
	if err != nil {
		return err
	}
	d.printf("prog2 attached; after a syscall (%s): prog2 ran, prog1 did not run, prog3 did not run", seen)
	return nil
}

func (d *demo) dynamicRuns(context.Context) error {
	if err := d.progs[2].Load(); err != nil {
		return fmt.Errorf("prog3.Load: %w", err)
	}
	if err := d.attach(d.progs[2]); err != nil {
		return err
	}
	seen, err := d.triggerAndExpect(false, true, true)
	if err != nil {
		return err
	}
	d.printf("prog3.Load after Object.Load (fd %d) and attach; after a syscall (%s): prog3 ran", d.progs[2].FD(), seen)
	return nil
}

func (d *demo) detachStops(context.Context) error {
	link := d.links[len(d.links)-1]
	if err := link.Close(); err != nil {
		return fmt.Errorf("closing prog3's link: %w", err)
	}
	// A tracepoint call that began before the detach may still finish
	// on another CPU; let it, so that it cannot raise the flag later.
	time.Sleep(20 * time.Millisecond)
	seen, err := d.triggerAndExpect(false, true, false)
	if err != nil {
		return fmt.Errorf("after closing prog3's link: %w", err)
	}
	d.printf("prog3's link closed; after a syscall (%s): prog3 did not run, prog2 still ran", seen)
	return nil
}

func (d *demo) reloadRuns(context.Context) error {
	before := d.progs[2].Instructions()
	if err := d.progs[2].Unload(); err != nil {
		return fmt.Errorf("prog3.Unload: %w", err)
	}
	if err := d.expectLoaded(false, true, false, true); err != nil {
		return fmt.Errorf("after prog3.Unload: %w", err)
	}
	d.printf("prog3.Unload: prog3 not loaded; prog2 still loaded; .bss and .data stay live")
	if err := d.progs[2].Load(); err != nil {
		return fmt.Errorf("prog3.Load again: %w", err)
	}
	if !bytes.Equal(before, d.progs[2].Instructions()) {
		return errors.New("prog3's instructions changed across unload and load")
	}
	if err := d.attach(d.progs[2]); err != nil {
		return err
	}
	seen, err := d.triggerAndExpect(false, true, true)
	if err != nil {
		return fmt.Errorf("after loading prog3 again: %w", err)
	}
	d.printf("prog3.Load again from the same instruction bytes (fd %d) and attach; after a syscall (%s): prog3 ran again",
		d.progs[2].FD(), seen)
	return nil
}

func (d *demo) slotsUnchanged(context.Context) error {
	for _, name := range []string{".bss", ".data"} {
		m := d.obj.Map(name)
		if got, want := m.FD(), d.slots[name]; got != want {
			return fmt.Errorf("map %s: fd %d, was %d at open", name, got, want)
		}
		if !m.Live() {
			return fmt.Errorf("map %s is not live while prog2 and prog3 use it", name)
		}
	}
	d.printf("map fds unchanged through load, unload and reload: .bss = fd %d, .data = fd %d",
		d.slots[".bss"], d.slots[".data"])
	return nil
}

func (d *demo) attach(p *bpf.Program) error {
	link, err := p.Attach()
	if err != nil {
		return err
	}
	d.links = append(d.links, link)
	return nil
}

// expectLoaded checks which programs are loaded and whether the global
// data maps are live.
func (d *demo) expectLoaded(want1, want2, want3, mapsLive bool) error {
	for i, want := range []bool{want1, want2, want3} {
		if got := d.progs[i].FD() >= 0; got != want {
			return fmt.Errorf("%s loaded: %t, want %t", d.progs[i].Name(), got, want)
		}
	}
	for _, name := range []string{".bss", ".data"} {
		if got := d.obj.Map(name).Live(); got != mapsLive {
			return fmt.Errorf("map %s live: %t, want %t", name, got, mapsLive)
		}
	}
	return nil
}

// triggerAndExpect clears the flags, makes syscalls, and compares which
// programs raised their flag. It returns the flags it read.
func (d *demo) triggerAndExpect(want ...bool) (string, error) {
	zero := make([]byte, 4)
	for _, f := range d.flags {
		if err := f.Write(zero); err != nil {
			return "", err
		}
	}
	os.Getppid()
	os.Stat("/")
	var (
		seen     []string
		mismatch error
	)
	buf := make([]byte, 4)
	for i, f := range d.flags {
		if err := f.Read(buf); err != nil {
			return "", err
		}
		value := binary.NativeEndian.Uint32(buf)
		seen = append(seen, fmt.Sprintf("%s=%d", f.Name(), value))
		if got := value == 1; got != want[i] && mismatch == nil {
			mismatch = fmt.Errorf("%s ran: %t, want %t", d.progs[i].Name(), got, want[i])
		}
	}
	observed := strings.Join(seen, " ")
	if mismatch != nil {
		return observed, fmt.Errorf("%w (%s)", mismatch, observed)
	}
	return observed, nil
}
