package bpf

import (
	"bufio"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/bpf/internal/elfsym"
	"github.com/rawload/rawload/bpf/internal/usdt"
	"github.com/rawload/rawload/syscall"
)

func init() {
	registerAttacher(attachUSDT, "usdt", "usdt.s")
}

// The maps of libbpf's usdt.bpf.h, where user space writes the argument
// specs of each probe site, and the names rawload's own earlier copy of
// that header (testdata/usdt.c) gives them.
var (
	usdtSpecsMaps = []string{"__bpf_usdt_specs", "usdt_specs"}
	usdtIPMaps    = []string{"__bpf_usdt_ip_to_spec_id", "usdt_ip_to_spec_id"}
)

// usdtByIP makes USDT attachments find their specs by address, as on
// kernels without BPF cookies; tests set it to cover that path.
var usdtByIP bool

// attachUSDT attaches a usdt program to every site of a USDT probe
// ("BINARY:PROVIDER:NAME" in the section or Target) found in the
// binary's .note.stapsdt: a uprobe at each site (with the kernel counting
// the probe's semaphore, if it has one, through ref_ctr_offset), and the
// argument spec of each site written into the program's __bpf_usdt_specs
// map under a spec id that the uprobe's BPF cookie carries, as libbpf's
// usdt.bpf.h reads it. On a kernel without BPF cookies (before 5.15) the
// id is found by the probe's address in __bpf_usdt_ip_to_spec_id instead.
// AttachOptions.Cookie is what bpf_usdt_cookie returns; PID narrows the
// probes to one process.
//
// A program without the spec maps (one that does not read arguments)
// attaches all the same. A probe used at one site makes a BPF link that
// can be pinned; one with several sites is held as several links, and its
// Link has no fd of its own.
func attachUSDT(p *Program, progFD int, opts *AttachOptions) (*Link, error) {
	target := p.spec.Kind.AttachTo
	if opts.Target != "" {
		target = opts.Target
	}
	if target == "" {
		return nil, targetMissing(p, "a USDT probe (BINARY:PROVIDER:NAME in AttachOptions.Target)")
	}
	bin, provider, name, err := splitUSDTTarget(target)
	if err != nil {
		return nil, err
	}
	path, err := resolveBinary(bin)
	if err != nil {
		return nil, err
	}
	probe, err := findUSDT(path, provider, name)
	if err != nil {
		return nil, err
	}
	sites := probe.sites
	pmu, err := uprobeSupport()
	if err != nil {
		return nil, err
	}
	u := &usdtAttach{
		path: path, sites: sites, pid: probePID(opts.PID), cookie: opts.Cookie,
		pmu: pmu, desc: fmt.Sprintf("%s:%s:%s", path, provider, name),
	}
	u.specs, u.ipMap = firstMap(p, usdtSpecsMaps), firstMap(p, usdtIPMaps)
	if u.specs != nil {
		if u.layout, u.maxIDs, err = usdtSpecsLayout(u.specs); err != nil {
			return nil, fmt.Errorf("USDT probe %s: %w", u.desc, err)
		}
		if probe.argsErr != nil {
			return nil, fmt.Errorf("USDT probe %s: %w", u.desc, probe.argsErr)
		}
		u.args = probe.args
		u.useCookie = haveBPFCookie(p) && !usdtByIP
		if !u.useCookie {
			if u.ipMap == nil {
				return nil, fmt.Errorf("USDT probe %s: this kernel has no BPF cookies (Linux 5.15), and the program has no __bpf_usdt_ip_to_spec_id map to find its specs by address", u.desc)
			}
			if u.ips, err = siteAddresses(sites, probe.fileType, path, u.pid); err != nil {
				return nil, fmt.Errorf("USDT probe %s: %w", u.desc, err)
			}
		}
	}
	return attachWith("usdt", u.desc, progFD, u.open)
}

// splitUSDTTarget reads "BINARY:PROVIDER:NAME".
func splitUSDTTarget(target string) (bin, provider, name string, err error) {
	j := strings.LastIndexByte(target, ':')
	i := -1
	if j > 0 {
		i = strings.LastIndexByte(target[:j], ':')
	}
	if i <= 0 || j == i+1 || j == len(target)-1 {
		return "", "", "", fmt.Errorf("USDT target %q is not BINARY:PROVIDER:NAME", target)
	}
	return target[:i], target[i+1 : j], target[j+1:], nil
}

// usdtProbe is a USDT probe of a file: its sites, with the arguments of
// each or why they cannot be read.
type usdtProbe struct {
	sites    []elfsym.Probe
	args     [][]usdt.Arg
	argsErr  error
	fileType elf.Type
}

// findUSDT finds the probe provider:name in the binary.
func findUSDT(path, provider, name string) (usdtProbe, error) {
	f, err := elfsym.Open(path)
	if err != nil {
		return usdtProbe{}, err
	}
	defer f.Close()
	probes, err := f.USDTProbes()
	if err != nil {
		return usdtProbe{}, err
	}
	var sites []elfsym.Probe
	var others []string
	for _, pr := range probes {
		if pr.Provider == provider && pr.Name == name {
			sites = append(sites, pr)
		} else if len(others) < 10 {
			others = append(others, pr.Provider+":"+pr.Name)
		}
	}
	if len(sites) == 0 {
		if len(probes) == 0 {
			return usdtProbe{}, fmt.Errorf("no USDT probe %s:%s in %s: it has no .note.stapsdt probes: %w", provider, name, path, elfsym.ErrNotFound)
		}
		return usdtProbe{}, fmt.Errorf("no USDT probe %s:%s in %s (it has %s): %w", provider, name, path, strings.Join(others, ", "), elfsym.ErrNotFound)
	}
	pr := usdtProbe{sites: sites, fileType: f.Type()}
	pr.args, pr.argsErr = parseSiteArgs(f, sites)
	return pr, nil
}

// firstMap is the first of the named maps the program uses.
func firstMap(p *Program, names []string) *Map {
	for _, n := range names {
		for _, m := range p.maps {
			if m.Name() == n {
				return m
			}
		}
	}
	return nil
}

// usdtSpecsLayout reads the spec map's layout from its value size, and
// how many spec ids it holds.
func usdtSpecsLayout(m *Map) (usdt.Layout, uint32, error) {
	if !m.Live() {
		return 0, 0, fmt.Errorf("map %s: %w", m.Name(), ErrMapNotLive)
	}
	info, err := syscall.MapInfoByFD(m.FD())
	if err != nil {
		return 0, 0, fmt.Errorf("map %s: %w", m.Name(), err)
	}
	if info.KeySize != 4 {
		return 0, 0, fmt.Errorf("map %s: key of %d bytes, not a spec id of 4", m.Name(), info.KeySize)
	}
	l, err := usdt.LayoutOf(info.ValueSize)
	if err != nil {
		return 0, 0, fmt.Errorf("map %s: %w", m.Name(), err)
	}
	return l, info.MaxEntries, nil
}

// parseSiteArgs parses the argument string of every site.
func parseSiteArgs(f *elfsym.File, sites []elfsym.Probe) ([][]usdt.Arg, error) {
	args := make([][]usdt.Arg, len(sites))
	for i, s := range sites {
		a, err := usdt.ParseArgs(s.Args, f.Arch(), usdt.Site{Addr: s.Addr, Symbol: f.SymbolAddr})
		if err != nil {
			return nil, fmt.Errorf("site at %#x: %w", s.Addr, err)
		}
		args[i] = a
	}
	return args, nil
}

// haveBPFCookie says whether the program finds its specs by the BPF
// cookie: as usdt.bpf.h decides with LINUX_HAS_BPF_COOKIE, which rawload
// derives from the kernel version (5.15) as libbpf does.
func haveBPFCookie(p *Program) bool {
	v, err := p.obj.env.KernelVersion()
	return err != nil || v >= 5<<16|15<<8
}

// siteAddresses are the addresses at which the probe's sites run, the ip
// the program looks up without cookies: the link-time address in a
// position-dependent executable, and in a PIE executable or a shared
// object the address it is mapped at in the one process AttachOptions.PID
// names.
func siteAddresses(sites []elfsym.Probe, typ elf.Type, path string, pid int) ([]uint64, error) {
	ips := make([]uint64, len(sites))
	if typ == elf.ET_EXEC {
		for i, s := range sites {
			ips[i] = s.Addr
		}
		return ips, nil
	}
	if pid < 0 {
		return nil, fmt.Errorf("without BPF cookies, probes in a PIE executable or shared object need AttachOptions.PID: their addresses differ per process")
	}
	maps, err := fileMappings(pid, path)
	if err != nil {
		return nil, err
	}
	for i, s := range sites {
		found := false
		for _, m := range maps {
			if s.Offset >= m.offset && s.Offset-m.offset < m.end-m.start {
				ips[i], found = m.start+s.Offset-m.offset, true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("process %d has not mapped the code at offset %#x of %s", pid, s.Offset, path)
		}
	}
	return ips, nil
}

type mapping struct{ start, end, offset uint64 }

// fileMappings reads the executable mappings of path in /proc/PID/maps.
func fileMappings(pid int, path string) ([]mapping, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || !strings.Contains(fields[1], "x") || strings.Join(fields[5:], " ") != path {
			continue
		}
		lo, hi, _ := strings.Cut(fields[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		off, err3 := strconv.ParseUint(fields[2], 16, 64)
		if err1 == nil && err2 == nil && err3 == nil {
			out = append(out, mapping{start, end, off})
		}
	}
	return out, sc.Err()
}

// usdtAttach is what attaching a USDT probe needs, resolved once and
// reused by a reload.
type usdtAttach struct {
	path      string
	desc      string
	sites     []elfsym.Probe
	pid       int
	cookie    uint64
	pmu       dynamicPMU
	specs     *Map // nil: the program reads no arguments
	ipMap     *Map
	layout    usdt.Layout
	maxIDs    uint32
	args      [][]usdt.Arg
	useCookie bool
	ips       []uint64
}

// open attaches one program instance to every site. Each instance gets
// spec ids of its own, so that a reload writes the new instance's specs
// without touching those the old one still reads; they are freed with
// the instance's attachment.
func (u *usdtAttach) open(progFD int) (attachment, error) {
	var ids []uint32 // per site
	var freeIDs func()
	if u.specs != nil {
		var err error
		if ids, freeIDs, err = u.writeSpecs(); err != nil {
			return attachment{}, fmt.Errorf("USDT probe %s: %w", u.desc, err)
		}
	}
	var parts []attachment
	undo := func() {
		for i := range parts {
			parts[i].release()
		}
		if freeIDs != nil {
			freeIDs()
		}
	}
	for i, s := range u.sites {
		var cookie uint64
		if ids != nil && u.useCookie {
			cookie = uint64(ids[i])
		}
		att, err := openUprobeAttachment(u.pmu, progFD, u.path, s.Offset, s.SemaphoreOffset, false, u.pid, cookie)
		if err != nil {
			undo()
			return attachment{}, fmt.Errorf("attach usdt to %s (site at %#x, file offset %#x): %w", u.desc, s.Addr, s.Offset, err)
		}
		parts = append(parts, att)
	}
	return combineAttachments(parts, freeIDs), nil
}

// writeSpecs allocates a spec id per distinct argument string and writes
// the specs (and, without cookies, the ip to id entries). It returns the
// id of each site and what frees them.
func (u *usdtAttach) writeSpecs() ([]uint32, func(), error) {
	byArgs := map[string]int{} // argument string -> index into distinct
	var distinct []int         // a site of each distinct argument string
	siteSpec := make([]int, len(u.sites))
	for i, s := range u.sites {
		k, ok := byArgs[s.Args]
		if !ok {
			k = len(distinct)
			byArgs[s.Args] = k
			distinct = append(distinct, i)
		}
		siteSpec[i] = k
	}
	ids, err := usdtIDs.alloc(u.specs, len(distinct), u.maxIDs)
	if err != nil {
		return nil, nil, fmt.Errorf("map %s: %w", u.specs.Name(), err)
	}
	var ipKeys [][]byte
	free := func() {
		for _, k := range ipKeys {
			u.ipMap.Delete(k)
		}
		usdtIDs.free(u.specs, ids)
	}
	order := binary.NativeEndian
	for k, site := range distinct {
		value, err := usdt.Spec{Args: u.args[site], Cookie: u.cookie}.Encode(u.layout, nativeOrder())
		if err == nil {
			err = u.specs.Update(order.AppendUint32(nil, ids[k]), value)
		}
		if err != nil {
			free()
			return nil, nil, fmt.Errorf("spec %d of %s: %w", ids[k], u.specs.Name(), err)
		}
	}
	perSite := make([]uint32, len(u.sites))
	for i := range u.sites {
		perSite[i] = ids[siteSpec[i]]
		if !u.useCookie {
			key := order.AppendUint64(nil, u.ips[i])
			if err := u.ipMap.Update(key, order.AppendUint32(nil, perSite[i])); err != nil {
				free()
				return nil, nil, fmt.Errorf("ip %#x in %s: %w", u.ips[i], u.ipMap.Name(), err)
			}
			ipKeys = append(ipKeys, key)
		}
	}
	return perSite, free, nil
}

// nativeOrder is the byte order of this machine, the kernel's.
func nativeOrder() binary.ByteOrder {
	if binary.NativeEndian.Uint16([]byte{1, 0}) == 1 {
		return binary.LittleEndian
	}
	return binary.BigEndian
}

// combineAttachments makes one attachment of several, with done run when
// it is released. One BPF link stays a BPF link (it can be pinned);
// several are held together and have no fd of their own.
func combineAttachments(parts []attachment, done func()) attachment {
	detachAll := func(parts []attachment) func() error {
		var detaches []func() error
		for _, a := range parts {
			if a.detach != nil {
				detaches = append(detaches, a.detach)
			}
		}
		if len(detaches) == 0 && done == nil {
			return nil
		}
		return func() error {
			var errs []error
			for _, d := range detaches {
				errs = append(errs, d())
			}
			if done != nil {
				done()
			}
			return errors.Join(errs...)
		}
	}
	if len(parts) == 1 {
		a := parts[0]
		a.detach = detachAll(parts)
		return a
	}
	combined := attachment{fd: -1, detach: detachAll(parts)}
	for _, a := range parts {
		if a.fd >= 0 {
			combined.held = append(combined.held, a.fd)
		}
		combined.held = append(combined.held, a.held...)
	}
	return combined
}

// usdtIDs hands out the spec ids of each spec map. Ids are taken round
// robin, so an id freed is the last to be taken again: a probe being
// detached may still run for a moment after its ids are freed, and must
// not find another probe's spec there.
var usdtIDs = &specIDAllocator{maps: map[*Map]*specIDs{}}

type specIDAllocator struct {
	mu   sync.Mutex
	maps map[*Map]*specIDs
}

type specIDs struct {
	used map[uint32]bool
	next uint32
}

func (a *specIDAllocator) alloc(m *Map, n int, limit uint32) ([]uint32, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.maps[m]
	if s == nil {
		s = &specIDs{used: map[uint32]bool{}}
	}
	if uint64(len(s.used))+uint64(n) > uint64(limit) {
		return nil, fmt.Errorf("the map holds %d USDT specs, %d in use and %d more needed: %w (raise its max_entries, BPF_USDT_MAX_SPEC_CNT)",
			limit, len(s.used), n, unix.E2BIG)
	}
	ids := make([]uint32, 0, n)
	for len(ids) < n {
		id := s.next % limit
		s.next = (id + 1) % limit
		if !s.used[id] {
			s.used[id] = true
			ids = append(ids, id)
		}
	}
	a.maps[m] = s
	return ids, nil
}

func (a *specIDAllocator) free(m *Map, ids []uint32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.maps[m]
	if s == nil {
		return
	}
	for _, id := range ids {
		delete(s.used, id)
	}
	if len(s.used) == 0 {
		delete(a.maps, m)
	}
}
