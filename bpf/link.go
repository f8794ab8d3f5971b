package bpf

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/syscall"
)

// ErrLinkClosed is returned by operations on a closed Link.
var ErrLinkClosed = errors.New("link is closed")

// ErrNotUpdatable is returned by Link.Update for a kind of attachment the
// kernel cannot switch to another program in place.
var ErrNotUpdatable = errors.New("this kind of link cannot switch programs in place")

// Link is an attachment of a program to a hook. The program keeps running
// while the link is open, even after Program.Unload, until Close.
//
// Most links are BPF links (an fd of the kernel's, which can be pinned and
// whose info the kernel reports). A few hooks attach otherwise (a socket
// filter set with SO_ATTACH_BPF, a program attached to a map with
// BPF_PROG_ATTACH); their Link has no fd and detaches on Close all the
// same.
type Link struct {
	// Kind names the hook family: "raw_tracepoint", "tracepoint", "xdp"...
	Kind string
	// Target is what it is attached to: a tracepoint, an interface, a
	// cgroup, a function.
	Target string

	mu   sync.Mutex
	prog *Program // the program it was made for; nil for a pinned link
	// att is how the attachment is held, updated and undone.
	att attachment
	// progFD is the program instance the link runs now.
	progFD int
	closed bool
}

// attachment is how one kind of hook holds a program.
type attachment struct {
	// fd is the BPF link, -1 for hooks that are not links.
	fd int
	// held are other fds the attachment needs open: a perf event.
	held []int
	// detach undoes an attachment that is not a BPF link; nil for links,
	// which detach when their fd closes.
	detach func() error
	// update switches the hook to another instance of the program in
	// place; nil where the kernel cannot (the link is then attached again
	// for the new instance before the old one is closed).
	update func(progFD int) error
	// again attaches the same hook for another instance of the program.
	again func(progFD int) (attachment, error)
}

func (a *attachment) release() error {
	var errs []error
	if a.detach != nil {
		errs = append(errs, a.detach())
	}
	if a.fd >= 0 {
		errs = append(errs, unix.Close(a.fd))
		a.fd = -1
	}
	for _, fd := range a.held {
		errs = append(errs, unix.Close(fd))
	}
	a.held = nil
	return errors.Join(errs...)
}

// AttachOptions say where a program attaches when its section cannot
// say it all. The zero value attaches by the section alone.
type AttachOptions struct {
	// Target replaces what the section names after its convention: a
	// tracepoint "group/name", a function, "binary:function[+offset]".
	Target string
	// Interface names the network interface of xdp, tc/tcx and netkit
	// programs; Ifindex is an alternative to it.
	Interface string
	Ifindex   int
	// Cgroup is the cgroup v2 directory of cgroup hooks and sockops.
	Cgroup string
	// Netns is the network namespace file (e.g. /run/netns/NAME) of
	// sk_lookup and flow_dissector programs, and the namespace in which
	// Interface or Ifindex is resolved and netfilter hooks are registered;
	// empty means the process's own.
	Netns string
	// PID narrows uprobes and usdt probes to one process; 0 means all.
	PID int
	// Cookie is the BPF cookie the program reads with
	// bpf_get_attach_cookie, where the hook has one.
	Cookie uint64
	// Socket is the fd of the socket a socket filter attaches to; 0
	// counts as not given.
	Socket int
	// Map is the sockmap or sockhash of sk_msg and sk_skb programs.
	Map *Map
	// PerfEvent is the fd of the perf event a perf_event program
	// attaches to.
	PerfEvent int
	// Netfilter gives a netfilter program its hook.
	Netfilter NetfilterHook
}

// NetfilterHook is where a netfilter program runs.
type NetfilterHook struct {
	ProtocolFamily uint32 // NFPROTO_IPV4, NFPROTO_IPV6
	Hook           uint32 // NF_INET_PRE_ROUTING...
	Priority       int32
}

// attacher makes an attachment of one hook family for a program instance.
type attacher func(p *Program, progFD int, opts *AttachOptions) (*Link, error)

// attachers maps a section convention to its hook family. The families
// live in files of their own (link_*.go) and register here, about a
// hundred conventions: sized for them, so that every process start does
// not grow the map several times over.
var attachers = make(map[string]attacher, 128)

func registerAttacher(fn attacher, conventions ...string) {
	for _, c := range conventions {
		attachers[c] = fn
	}
}

// Attach attaches the loaded program to the hook its section names.
func (p *Program) Attach() (*Link, error) { return p.AttachWith(AttachOptions{}) }

// AttachWith attaches the loaded program with options for what its
// section cannot name: an interface, a cgroup, a socket...
func (p *Program) AttachWith(opts AttachOptions) (*Link, error) {
	p.lifecycle.Lock()
	defer p.lifecycle.Unlock()
	fd := p.FD()
	if fd < 0 {
		return nil, p.notLoaded("attach")
	}
	kind := p.spec.Kind
	attach, ok := attachers[kind.Convention]
	if !ok {
		return nil, fmt.Errorf("program %s: attaching %s programs: %w", p.Name(), kind.Convention, ErrAttachUnsupported)
	}
	l, err := attach(p, fd, &opts)
	if err != nil {
		return nil, fmt.Errorf("program %s: %w", p.Name(), err)
	}
	l.prog, l.progFD = p, fd
	p.obj.mu.Lock()
	p.links = append(p.links, l)
	p.obj.mu.Unlock()
	return l, nil
}

// newLink wraps an attachment.
func newLink(kind, target string, att attachment) *Link {
	return &Link{Kind: kind, Target: target, att: att}
}

// FD is the link's fd, -1 once closed or for hooks that are not BPF links.
func (l *Link) FD() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return -1
	}
	return l.att.fd
}

// Close detaches the program. The program keeps running where a pin of
// the link holds it.
func (l *Link) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	if p := l.prog; p != nil {
		p.obj.mu.Lock()
		p.links = slices.DeleteFunc(p.links, func(o *Link) bool { return o == l })
		p.obj.mu.Unlock()
	}
	return l.att.release()
}

// Update makes the link run p's loaded instance instead, in place, with
// BPF_LINK_UPDATE: the hook is never empty.
func (l *Link) Update(p *Program) error {
	fd := p.FD()
	if fd < 0 {
		return p.notLoaded("link update")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrLinkClosed
	}
	if l.att.update == nil {
		return fmt.Errorf("%s link on %s: %w", l.Kind, l.Target, ErrNotUpdatable)
	}
	if err := l.att.update(fd); err != nil {
		return fmt.Errorf("%s link on %s: update: %w", l.Kind, l.Target, err)
	}
	l.progFD = fd
	return nil
}

// Pin pins the link at path on a bpffs: it stays attached after the
// process exits, until the pin is removed.
func (l *Link) Pin(path string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrLinkClosed
	}
	if l.att.fd < 0 {
		return fmt.Errorf("%s attachment on %s is not a BPF link and cannot be pinned", l.Kind, l.Target)
	}
	if err := syscall.ObjPin(l.att.fd, path); err != nil {
		return fmt.Errorf("%s link: pin at %s: %w", l.Kind, path, err)
	}
	return nil
}

// LinkInfo is what the kernel says of a link.
type LinkInfo struct {
	Type   uint32 // BPF_LINK_TYPE_*
	ID     uint32
	ProgID uint32
}

// Info asks the kernel about the link.
func (l *Link) Info() (LinkInfo, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return LinkInfo{}, ErrLinkClosed
	}
	if l.att.fd < 0 {
		return LinkInfo{}, fmt.Errorf("%s attachment on %s is not a BPF link", l.Kind, l.Target)
	}
	info, err := syscall.LinkInfoByFD(l.att.fd)
	if err != nil {
		return LinkInfo{}, fmt.Errorf("%s link: info: %w", l.Kind, err)
	}
	return LinkInfo{Type: info.Type, ID: info.ID, ProgID: info.ProgID}, nil
}

// LoadPinnedLink opens the link pinned at path. Closing it releases this
// process's hold; the pin keeps the link.
func LoadPinnedLink(path string) (*Link, error) {
	fd, err := syscall.ObjGet(path, 0)
	if err != nil {
		return nil, fmt.Errorf("pinned link %s: %w", path, err)
	}
	info, err := syscall.LinkInfoByFD(fd)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("pinned link %s: %w", path, err)
	}
	return newLink(linkTypeName(info.Type), path, attachment{fd: fd, update: linkUpdater(fd)}), nil
}

// linkUpdater switches a BPF link to another program instance in place.
func linkUpdater(linkFD int) func(progFD int) error {
	return func(progFD int) error { return syscall.LinkUpdate(linkFD, progFD, 0, 0) }
}
