package bpf

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/reloc"
	"github.com/rawload/rawload/syscall"
)

// Program is a program of an Object. Its instructions are final: every
// load passes the same bytes.
type Program struct {
	obj   *Object
	index int // in Object.programs: file order
	spec  *reloc.Program
	insns []byte
	maps  []*Map
	// bound are maps the program does not refer to but is bound to
	// (BPF_PROG_BIND_MAP): .rodata, as libbpf does, so its metadata lives
	// as long as any program of the object.
	bound          []*Map
	progArraySlots []progArraySlot
	// What PROG_LOAD needs from the kernel's BTF, resolved at Open.
	attach  attachTarget
	fdArray []int32
	// openErr is a problem found at Open, reported at load.
	openErr error

	// lifecycle serialises Load and Unload of this program; the kernel
	// work of different programs runs in parallel.
	lifecycle sync.Mutex

	// Guarded by obj.mu.
	// links are the open Links made by Attach, which a reload moves.
	links    []*Link
	loadType LoadType
	fd       int
	log      string
	restarts int
}

func (o *Object) newProgram(ps *reloc.Program) (*Program, error) {
	insns, err := o.finalInstructions(ps)
	if err != nil {
		return nil, err
	}
	p := &Program{obj: o, index: len(o.programs), spec: ps, insns: insns, loadType: LoadAuto, fd: -1}
	if ps.Kind.NoAutoload {
		p.loadType = LoadDisabled
	}
	for _, index := range ps.Maps {
		p.maps = append(p.maps, o.maps[index])
	}
	if rodata := o.Map(".rodata"); rodata != nil && !slices.Contains(p.maps, rodata) {
		p.bound = append(p.bound, rodata)
	}
	p.progArraySlots = o.progArraySlotsOf(ps.Name)
	if ps.Err == nil {
		p.fdArray, p.openErr = o.resolveExterns(ps, p.insns)
	}
	if ps.Err == nil && p.openErr == nil {
		p.attach, p.openErr = o.resolveAttachTarget(ps)
		if errors.Is(p.openErr, ErrStructOpsUnused) {
			// As libbpf: the kernel needs the member such a program
			// implements, so it is left out of a whole-object load.
			p.loadType = LoadDisabled
		}
	}
	if p.openErr != nil {
		p.openErr = fmt.Errorf("program %s: %w", ps.Name, p.openErr)
	}
	return p, nil
}

// Name is the program's function name.
func (p *Program) Name() string { return p.spec.Name }

// Section is the ELF section the program was found in.
func (p *Program) Section() string { return p.spec.Section }

// Spec describes the program as the object file does.
func (p *Program) Spec() ProgramSpec { return programSpec(p.obj.spec, p.spec) }

// Err is why the program cannot be loaded, known at Open: an unknown
// section, a feature rawload does not support yet, or a kernel symbol or
// attach target the running kernel lacks. nil otherwise.
func (p *Program) Err() error {
	if p.spec.Err != nil {
		return p.spec.Err
	}
	return p.openErr
}

// Instructions returns a copy of the final instruction bytes.
func (p *Program) Instructions() []byte { return append([]byte(nil), p.insns...) }

// Maps lists every map the loaded program holds: those its instructions
// refer to, then those it is bound to with BPF_PROG_BIND_MAP (.rodata,
// as libbpf does), so that they match the map ids the kernel reports.
func (p *Program) Maps() []*Map { return slices.Clone(p.usedMaps()) }

// LoadType says when the program is loaded.
func (p *Program) LoadType() LoadType {
	p.obj.mu.Lock()
	defer p.obj.mu.Unlock()
	return p.loadType
}

// SetLoadType changes when the program is loaded; refused once
// Object.Load has run.
func (p *Program) SetLoadType(t LoadType) error {
	if t < LoadDisabled || t > LoadDynamic {
		return fmt.Errorf("program %s: invalid load type %d", p.Name(), t)
	}
	p.obj.mu.Lock()
	defer p.obj.mu.Unlock()
	if err := p.loadTypeFixedLocked(); err != nil {
		return err
	}
	p.loadType = t
	return nil
}

// SetAutoload(true) makes the program Auto; SetAutoload(false) makes an
// Auto program Disabled and leaves a Dynamic one Dynamic.
func (p *Program) SetAutoload(on bool) error {
	p.obj.mu.Lock()
	defer p.obj.mu.Unlock()
	if err := p.loadTypeFixedLocked(); err != nil {
		return err
	}
	switch {
	case on:
		p.loadType = LoadAuto
	case p.loadType == LoadAuto:
		p.loadType = LoadDisabled
	}
	return nil
}

// loadTypeFixedLocked refuses a change of load type once Object.Load has
// run or the Object is closed. obj.mu is held.
func (p *Program) loadTypeFixedLocked() error {
	switch {
	case p.obj.closed:
		return fmt.Errorf("program %s: %w", p.Name(), ErrClosed)
	case p.obj.loaded:
		return fmt.Errorf("program %s: %w", p.Name(), ErrLoadTypeFixed)
	}
	return nil
}

// notLoaded is the error of an operation that needs the program loaded:
// ErrClosed once the Object is closed, ErrNotLoaded before that.
func (p *Program) notLoaded(what string) error {
	p.obj.mu.Lock()
	closed := p.obj.closed
	p.obj.mu.Unlock()
	if closed {
		return fmt.Errorf("program %s: %s: %w", p.Name(), what, ErrClosed)
	}
	return fmt.Errorf("program %s: %s: %w", p.Name(), what, ErrNotLoaded)
}

// FD is the loaded program's fd, -1 when not loaded.
func (p *Program) FD() int {
	p.obj.mu.Lock()
	defer p.obj.mu.Unlock()
	return p.fd
}

// VerifierLog is the log of the last load: always kept for a failed load,
// for a successful one when Options.LogLevel is set.
func (p *Program) VerifierLog() string {
	p.obj.mu.Lock()
	defer p.obj.mu.Unlock()
	return p.log
}

// Restarts is how many times the kernel restarted verification of the
// last load because a signal interrupted it (EAGAIN).
func (p *Program) Restarts() int {
	p.obj.mu.Lock()
	defer p.obj.mu.Unlock()
	return p.restarts
}

// Load loads the program, creating the maps it uses that are not live. It
// is a no-op if the program is loaded. It needs Object.Load to have run,
// and refuses Disabled programs.
func (p *Program) Load() error {
	p.obj.mu.Lock()
	loaded, closed := p.obj.loaded, p.obj.closed
	p.obj.mu.Unlock()
	switch {
	case closed:
		return fmt.Errorf("program %s: load: %w", p.Name(), ErrClosed)
	case !loaded:
		return fmt.Errorf("program %s: %w", p.Name(), ErrObjectNotLoaded)
	}
	tx := singleLoads.Get().(*loadTx)
	defer singleLoads.Put(tx)
	err := p.load(tx)
	if err != nil {
		tx.rollback(p.obj)
	}
	clear(tx.maps) // no Object kept alive by the pool
	tx.maps = tx.maps[:0]
	return err
}

// load makes the program loaded as part of tx, which records the maps it
// created and the program, so a failed multi-program load can be undone.
func (p *Program) load(tx *loadTx) error {
	p.lifecycle.Lock()
	defer p.lifecycle.Unlock()
	o := p.obj
	o.mu.Lock()
	switch {
	case o.closed:
		o.mu.Unlock()
		return fmt.Errorf("program %s: load: %w", p.Name(), ErrClosed)
	case p.fd >= 0:
		o.mu.Unlock()
		return nil
	case p.loadType == LoadDisabled:
		o.mu.Unlock()
		if err := p.Err(); err != nil {
			return fmt.Errorf("%w; %w", err, ErrDisabled)
		}
		return fmt.Errorf("program %s: %w", p.Name(), ErrDisabled)
	case p.Err() != nil:
		o.mu.Unlock()
		return p.Err()
	}
	o.mu.Unlock()
	fd, err := p.newInstance(tx)
	if err != nil {
		return err
	}
	o.mu.Lock()
	p.fd = fd
	o.mu.Unlock()
	tx.loaded(p)
	return nil
}

// newInstance loads the program's final instructions into the kernel
// once more, counted as a user of its maps (creating those not live, in
// tx), bound to its bound maps and put into the program arrays that name
// it. It returns the instance's fd; p.fd is the caller's to set. The
// lifecycle lock is held.
func (p *Program) newInstance(tx *loadTx) (int, error) {
	o := p.obj
	// The first load's BTF_LOAD, outside the Object's lock; a failure
	// shows again, and is dealt with, below.
	o.btf.get(o.spec.BTF)
	counted, err := p.createMapsUnlocked(tx)
	if err != nil {
		return -1, fmt.Errorf("program %s: %w", p.Name(), err)
	}
	o.mu.Lock()
	err = p.acquireMapsLocked(tx, counted)
	var btfFD int
	if err == nil {
		btfFD, err = o.btf.get(o.spec.BTF)
		if err != nil {
			p.releaseMapsLocked()
		}
	}
	o.mu.Unlock()
	if err != nil {
		return -1, fmt.Errorf("program %s: %w", p.Name(), err)
	}

	start := time.Now()
	opts := p.loadOptions(btfFD)
	res, err := syscall.ProgLoad(&opts)
	took := time.Since(start)

	o.mu.Lock()
	defer o.mu.Unlock()
	p.log, p.restarts = res.Log, res.EAGAINRetries
	o.stats.ProgLoad += took
	o.stats.ProgLoads++
	o.stats.Restarts += res.EAGAINRetries
	if err != nil {
		p.releaseMapsLocked()
		var errno unix.Errno
		if errors.As(err, &errno) {
			verr := &VerifierError{Program: p.Name(), Errno: errno, Log: res.Log}
			if errno == unix.EPERM && isTrampoline(p.spec.Kind) {
				verr.Err = fmt.Errorf("program %s: load: %w: the kernel refuses trampoline programs (%s attaching to %s, BTF id %d)",
					p.Name(), errno, p.spec.Kind.Convention, p.attach.name, p.attach.btfID)
			}
			return -1, verr
		}
		return -1, fmt.Errorf("program %s: load: %w", p.Name(), err)
	}
	if err := p.afterLoadLocked(res.FD); err != nil {
		if p.fd >= 0 {
			p.fillProgArraysLocked(p.fd) // back to the instance that runs
		} else {
			p.clearProgArraysLocked()
		}
		unix.Close(res.FD)
		p.releaseMapsLocked()
		return -1, fmt.Errorf("program %s: %w", p.Name(), err)
	}
	return res.FD, nil
}

// afterLoadLocked binds the program to its bound maps and puts it into
// the program arrays that name it. obj.mu is held.
func (p *Program) afterLoadLocked(fd int) error {
	for _, m := range p.bound {
		if err := bindMap(fd, m.slot); err != nil {
			return fmt.Errorf("binding map %s: %w", m.Name(), err)
		}
	}
	return p.fillProgArraysLocked(fd)
}

func (p *Program) loadOptions(btfFD int) syscall.ProgLoadOptions {
	ps := p.spec
	opts := syscall.ProgLoadOptions{
		Type:               ps.Kind.Type,
		ExpectedAttachType: ps.Kind.ExpectedAttachType,
		Flags:              ps.Kind.Flags,
		Name:               ps.Name,
		Insns:              p.insns,
		License:            p.obj.license,
		KernVersion:        p.obj.spec.KernVersion,
		LogLevel:           p.obj.opts.LogLevel,
	}
	opts.AttachBTFID, opts.AttachBTFObjFD = p.attach.btfID, uint32(p.attach.btfObjFD)
	opts.AttachProgFD = p.attach.progFD
	if p.attach.structOps {
		opts.ExpectedAttachType = p.attach.expectedAttachType
	}
	opts.FDArray = p.fdArray
	if btfFD > 0 && len(ps.FuncInfo) > 0 {
		opts.BTFFD = btfFD
		opts.FuncInfo, opts.FuncInfoRecSize = ps.FuncInfo, ps.FuncInfoRecSize
		opts.LineInfo, opts.LineInfoRecSize = ps.LineInfo, ps.LineInfoRecSize
	}
	return opts
}

// usedMaps are the maps a loaded program holds: those it refers to and
// those it is bound to.
func (p *Program) usedMaps() []*Map {
	if len(p.bound) == 0 {
		return p.maps
	}
	return append(slices.Clip(p.maps), p.bound...)
}

// acquireMapsLocked creates the program's maps that are not live and
// counts the program as their user, so none can be destroyed under it;
// counted are those it already counts (createMapsUnlocked). On an error
// the program is no user of any.
func (p *Program) acquireMapsLocked(tx *loadTx, counted []*Map) error {
	used := p.usedMaps()
	for i, m := range used {
		if slices.Contains(counted, m) {
			continue
		}
		if err := m.createLocked(tx); err != nil {
			for _, prev := range used[:i] {
				if !slices.Contains(counted, prev) {
					prev.users--
				}
			}
			for _, c := range counted {
				c.users--
			}
			return err
		}
		m.users++
	}
	return nil
}

// releaseMapsLocked drops the program's use of its maps and, with
// ReleaseUnusedMaps, destroys those nobody uses any more.
func (p *Program) releaseMapsLocked() {
	for _, m := range p.usedMaps() {
		m.dropUserLocked()
	}
}

// Unload closes the program's fd; it is a no-op if it is not loaded.
// Links attached to it keep it running in the kernel until closed.
func (p *Program) Unload() error {
	p.lifecycle.Lock()
	defer p.lifecycle.Unlock()
	p.obj.mu.Lock()
	defer p.obj.mu.Unlock()
	if p.obj.closed {
		return fmt.Errorf("program %s: unload: %w", p.Name(), ErrClosed)
	}
	if p.fd < 0 {
		return nil
	}
	p.clearProgArraysLocked()
	p.closeFD()
	p.releaseMapsLocked()
	return nil
}

func (p *Program) closeFD() {
	if p.fd >= 0 {
		unix.Close(p.fd)
		p.fd = -1
	}
}

// TestRun runs the loaded program once on data with BPF_PROG_TEST_RUN
// and returns its return value. For a syscall program data is the
// context it receives.
func (p *Program) TestRun(data []byte) (uint32, error) {
	p.lifecycle.Lock()
	defer p.lifecycle.Unlock()
	fd := p.FD()
	if fd < 0 {
		return 0, p.notLoaded("test run")
	}
	opts := &syscall.ProgTestRunOptions{ProgFD: fd, DataIn: data, Repeat: 1}
	if p.spec.Kind.Type == uapi.ProgTypeSyscall {
		// Syscall programs take no packet and run exactly once: their
		// input is the context, and the kernel refuses a repeat count.
		opts.DataIn, opts.CtxIn, opts.Repeat = nil, data, 0
	}
	res, err := syscall.ProgTestRun(opts)
	if err != nil {
		return 0, fmt.Errorf("program %s: test run: %w", p.Name(), err)
	}
	return res.Retval, nil
}

// VerifiedInsns is the number of instructions the verifier processed for
// the loaded program.
func (p *Program) VerifiedInsns() (uint32, error) {
	p.lifecycle.Lock()
	defer p.lifecycle.Unlock()
	fd := p.FD()
	if fd < 0 {
		return 0, p.notLoaded("info")
	}
	info, err := syscall.ProgInfoByFD(fd)
	if err != nil {
		return 0, fmt.Errorf("program %s: info: %w", p.Name(), err)
	}
	return info.VerifiedInsns, nil
}

// verifiedInsns is VerifiedInsns for a program that loaded (loadErr nil),
// and what the verifier's log says it processed for one it rejected; 0
// when neither knows.
func (p *Program) verifiedInsns(loadErr error) uint32 {
	var verr *VerifierError
	if errors.As(loadErr, &verr) {
		return processedInsns(verr.Log)
	}
	if loadErr != nil {
		return 0
	}
	n, err := p.VerifiedInsns()
	if err != nil {
		return processedInsns(p.VerifierLog())
	}
	return n
}
