package bpf

import (
	"errors"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
)

// TestNetkitAttach attaches at a netkit device's primary side where the
// kernel has netkit; where it does not, it checks that the refusal says
// so (this project's kernel is built without CONFIG_NETKIT).
func TestNetkitAttach(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	ns := newTestNetns(t)
	obj := loadAttachNet(t, "netkit_primary")
	prog := obj.Program("netkit_primary")

	if !kernelHasNetkit() {
		_, err := prog.AttachWith(AttachOptions{Interface: "lo", Netns: ns.path})
		if !errors.Is(err, ErrHookUnavailable) || !errors.Is(err, unix.EINVAL) {
			t.Fatalf("netkit on a kernel without it: %v, want ErrHookUnavailable and EINVAL", err)
		}
		t.Logf("refused as expected: %v", err)
		t.Skip("kernel without netkit (CONFIG_NETKIT): the refusal is checked, attaching is not")
	}

	// A device that is not netkit is named as such.
	if _, err := prog.AttachWith(AttachOptions{Interface: "lo", Netns: ns.path}); !errors.Is(err, unix.ENXIO) {
		t.Errorf("netkit program on lo: %v, want ENXIO", err)
	}
	if out, err := exec.Command("ip", "-n", ns.name, "link", "add", "nk0", "type", "netkit").CombinedOutput(); err != nil {
		t.Fatalf("ip link add nk0 type netkit: %v: %s", err, out)
	}
	link, err := prog.AttachWith(AttachOptions{Interface: "nk0", Netns: ns.path})
	must(t, err)
	defer link.Close()
	requireLinkType(t, link, uapi.LinkTypeNetkit, prog)
	must(t, prog.Reload())
	requireLinkType(t, link, uapi.LinkTypeNetkit, prog)
}
