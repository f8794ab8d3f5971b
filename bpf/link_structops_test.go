package bpf

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestStructOpsAttach: struct_ops programs are not attached one by one,
// and only a struct_ops map registers through a link. (This project's
// kernel refuses struct_ops programs at load, EPERM, so no such map can be
// filled here; the registration itself is left to a kernel that can.)
func TestStructOpsAttach(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := loadAttachNet(t, "xdp_count")

	_, err := obj.Map("counts").AttachStructOps()
	if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "not a struct_ops map") {
		t.Errorf("AttachStructOps of an array: %v, want EINVAL and 'not a struct_ops map'", err)
	}

	attach := attachers["struct_ops"]
	if attach == nil {
		t.Fatal("no attacher for struct_ops sections")
	}
	_, err = attach(obj.Program("xdp_count"), -1, &AttachOptions{})
	if !errors.Is(err, ErrAttachUnsupported) || !strings.Contains(err.Error(), "AttachStructOps") {
		t.Errorf("attaching a struct_ops program: %v, want ErrAttachUnsupported pointing at Map.AttachStructOps", err)
	}
}

// TestNetAttachTargetMissing: every hook whose target a section cannot
// name says which option gives it.
func TestNetAttachTargetMissing(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	needs := map[string]string{
		"xdp_count":       "--iface",
		"tcx_ingress":     "--iface",
		"tc_plain":        "--iface",
		"netkit_primary":  "--iface",
		"cg_connect4":     "--cgroup",
		"cg_sock_create":  "--cgroup",
		"cg_skb_egress":   "--cgroup",
		"cg_sockops":      "--cgroup",
		"socket_count":    "AttachOptions.Socket",
		"reuseport_count": "AttachOptions.Socket",
		"sk_msg_count":    "AttachOptions.Map",
		"sk_skb_count":    "AttachOptions.Map",
		"netfilter_count": "AttachOptions.Netfilter",
	}
	var names []string
	for name := range needs {
		names = append(names, name)
	}
	obj := loadAttachNet(t, names...)
	for name, option := range needs {
		_, err := obj.Program(name).Attach()
		if !errors.Is(err, ErrAttachTargetMissing) || !strings.Contains(err.Error(), option) {
			t.Errorf("%s: Attach: %v, want ErrAttachTargetMissing naming %s", name, err, option)
		}
	}
}
