package syscall

import (
	"errors"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestIterLinkInfoLayout checks union bpf_iter_link_info of Linux 6.18:
// 16 bytes; map.map_fd, cgroup.order and task.tid at 0; cgroup.cgroup_fd
// and task.pid at 4; cgroup.cgroup_id at 8 (task.pid_fd too).
func TestIterLinkInfoLayout(t *testing.T) {
	if size := unsafe.Sizeof(IterLinkInfo{}); size != 16 {
		t.Errorf("IterLinkInfo: %d bytes, bpf_iter_link_info 16", size)
	}
	if off := unsafe.Offsetof(IterLinkInfo{}.B); off != 4 {
		t.Errorf("cgroup_fd/pid at %d, want 4", off)
	}
	if off := unsafe.Offsetof(IterLinkInfo{}.C); off != 8 {
		t.Errorf("cgroup_id at %d, want 8", off)
	}
	if size := unsafe.Sizeof(iterCreateAttr{}); size != 8 {
		t.Errorf("iter_create: %d bytes, want 8", size)
	}
	if i := IterTaskInfo(0, 42); i.A != 0 || i.B != 42 {
		t.Errorf("IterTaskInfo(0, 42) = %+v", i)
	}
	if i := IterMapInfo(7); i.A != 7 {
		t.Errorf("IterMapInfo(7) = %+v", i)
	}
}

// TestMultiLinkArguments refuses cookies or reference counter offsets
// that do not go one per probe, before the kernel sees them.
func TestMultiLinkArguments(t *testing.T) {
	_, err := LinkCreateUprobeMulti(-1, &UprobeMultiOptions{Path: "/bin/sh", Offsets: []uint64{1, 2}, Cookies: []uint64{1}})
	if !errors.Is(err, unix.EINVAL) {
		t.Errorf("uprobe_multi with 1 cookie for 2 offsets: %v", err)
	}
	_, err = LinkCreateKprobeMulti(-1, &KprobeMultiOptions{Symbols: []string{"a", "b"}, Cookies: []uint64{1, 2, 3}})
	if !errors.Is(err, unix.EINVAL) {
		t.Errorf("kprobe_multi with 3 cookies for 2 functions: %v", err)
	}
}
