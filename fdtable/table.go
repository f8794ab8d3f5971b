package fdtable

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

var (
	// ErrUnknownSlot is returned for a number the Table did not reserve
	// or has already released.
	ErrUnknownSlot = errors.New("unknown slot")
	// ErrClosed is returned by every operation after Close.
	ErrClosed = errors.New("fd table closed")
)

// minSlot keeps slots off stdin, stdout and stderr even when the process
// started with them closed, so a slot is never mistaken for a standard stream.
const minSlot = 3

// Table owns a set of slots and the placeholder they hold while vacant.
// It is safe for concurrent use.
type Table struct {
	mu          sync.Mutex
	placeholder int // -1 once closed
	slots       map[int]struct{}
}

// New creates a Table with its own placeholder.
func New() (*Table, error) {
	// A memfd needs no /dev or other filesystem, works in any mount
	// namespace, and has an inode no other file shares, which is what
	// IsPlaceholder compares.
	fd, err := unix.MemfdCreate("rawload-placeholder", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("create placeholder: memfd_create: %w", err)
	}
	return &Table{placeholder: fd, slots: make(map[int]struct{})}, nil
}

// Reserve creates a new slot holding the placeholder and returns its number,
// which stays valid until Release or Close.
func (t *Table) Reserve() (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()

	if t.placeholder < 0 {
		return -1, fmt.Errorf("reserve: %w", ErrClosed)
	}
	slot, err := unix.FcntlInt(uintptr(t.placeholder), unix.F_DUPFD_CLOEXEC, minSlot)
	if err != nil {
		return -1, fmt.Errorf("reserve: fcntl F_DUPFD_CLOEXEC: %w", err)
	}
	t.slots[slot] = struct{}{}
	return slot, nil
}

// Install makes slot refer to what fd refers to, replacing whatever the slot
// held, and closes fd.
//
// Install takes ownership of fd: it is closed on success and on every error,
// so the caller must not use or close it afterwards. The one exception is
// an fd that is itself one of the Table's own descriptors (a slot or the
// placeholder), which is rejected with EINVAL and left open, since closing
// it would break the Table.
func (t *Table) Install(slot, fd int) error {
	t.mu.Lock()
	defer t.mu.Unlock()

	if t.owns(fd) {
		return fmt.Errorf("install fd %d into slot %d: fd belongs to the table: %w", fd, slot, unix.EINVAL)
	}
	defer closeFD(fd)

	if err := t.check(slot); err != nil {
		return fmt.Errorf("install fd %d: %w", fd, err)
	}
	if err := unix.Dup3(fd, slot, unix.O_CLOEXEC); err != nil {
		return fmt.Errorf("install fd %d into slot %d: dup3: %w", fd, slot, err)
	}
	return nil
}

// Vacate puts the placeholder back into slot, dropping the slot's reference
// to what was installed there. The slot keeps its number.
func (t *Table) Vacate(slot int) error {
	t.mu.Lock()
	defer t.mu.Unlock()

	if err := t.check(slot); err != nil {
		return fmt.Errorf("vacate: %w", err)
	}
	if err := unix.Dup3(t.placeholder, slot, unix.O_CLOEXEC); err != nil {
		return fmt.Errorf("vacate slot %d: dup3: %w", slot, err)
	}
	return nil
}

// Release closes slot and forgets it. Its number may then be reused by any
// open in the process, so nothing may still embed it.
func (t *Table) Release(slot int) error {
	t.mu.Lock()
	defer t.mu.Unlock()

	if err := t.check(slot); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	// Forget the slot whatever close says: after close(2) the number is
	// gone even when it reports an error.
	delete(t.slots, slot)
	if err := unix.Close(slot); err != nil {
		return fmt.Errorf("release slot %d: close: %w", slot, err)
	}
	return nil
}

// IsPlaceholder reports whether slot currently holds the placeholder rather
// than an installed object.
func (t *Table) IsPlaceholder(slot int) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()

	if err := t.check(slot); err != nil {
		return false, fmt.Errorf("is placeholder: %w", err)
	}
	var st, ph unix.Stat_t
	if err := unix.Fstat(slot, &st); err != nil {
		return false, fmt.Errorf("slot %d: fstat: %w", slot, err)
	}
	if err := unix.Fstat(t.placeholder, &ph); err != nil {
		return false, fmt.Errorf("placeholder: fstat: %w", err)
	}
	return st.Dev == ph.Dev && st.Ino == ph.Ino, nil
}

// Len returns the number of reserved slots.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.slots)
}

// Close releases every slot and the placeholder. Later calls do nothing and
// return nil; every other method then returns ErrClosed.
func (t *Table) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()

	if t.placeholder < 0 {
		return nil
	}
	var errs []error
	for slot := range t.slots {
		if err := unix.Close(slot); err != nil {
			errs = append(errs, fmt.Errorf("close slot %d: %w", slot, err))
		}
	}
	if err := unix.Close(t.placeholder); err != nil {
		errs = append(errs, fmt.Errorf("close placeholder: %w", err))
	}
	t.slots = nil
	t.placeholder = -1
	return errors.Join(errs...)
}

// check must be called with t.mu held.
func (t *Table) check(slot int) error {
	if t.placeholder < 0 {
		return ErrClosed
	}
	if _, ok := t.slots[slot]; !ok {
		return fmt.Errorf("slot %d: %w", slot, ErrUnknownSlot)
	}
	return nil
}

// owns reports whether fd is one of the Table's descriptors. It must be
// called with t.mu held.
func (t *Table) owns(fd int) bool {
	if t.placeholder >= 0 && fd == t.placeholder {
		return true
	}
	_, ok := t.slots[fd]
	return ok
}

func closeFD(fd int) {
	if fd >= 0 {
		unix.Close(fd)
	}
}
