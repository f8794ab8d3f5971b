package bpf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
)

// TestTracingAttach loads trampoline.o's fentry, fexit, fmod_ret and lsm
// programs and attaches each. This project's kernel refuses trampoline
// programs at load (EPERM): the test checks that the refusal says so and
// skips the attaching. Where they load, each attaches with
// BPF_LINK_CREATE, a tracing link, and fentry_prog and fexit_prog run on
// unlinkat.
func TestTracingAttach(t *testing.T) {
	requireKernel(t)
	requireKernelBTF(t)
	checkNoLeak(t)
	obj := openDynamic(t, testdata("trampoline.o"), nil)
	var refused []string
	for _, name := range []string{"fentry_prog", "fexit_prog", "fmod_ret_prog", "lsm_prog"} {
		p := obj.Program(name)
		err := p.Load()
		if err != nil {
			if !errors.Is(err, unix.EPERM) || !strings.Contains(err.Error(), "refuses trampoline programs") {
				t.Fatalf("%s: %v, want EPERM explained as a refused trampoline", name, err)
			}
			refused = append(refused, name)
			continue
		}
		l, err := p.Attach()
		must(t, err)
		info, err := l.Info()
		must(t, err)
		if info.Type != uapi.LinkTypeTracing {
			t.Errorf("%s: link type %d, want BPF_LINK_TYPE_TRACING", name, info.Type)
		}
		if _, err := p.AttachWith(AttachOptions{Target: "some_other_function"}); err == nil {
			t.Errorf("%s: a target other than the load's was accepted", name)
		}
		if name == "fentry_prog" || name == "fexit_prog" {
			path := filepath.Join(t.TempDir(), "f")
			must(t, os.WriteFile(path, nil, 0o600))
			must(t, os.Remove(path))
		}
		must(t, p.Reload())
		must(t, l.Close())
	}
	if len(refused) > 0 {
		t.Skipf("this kernel refuses trampoline programs at load (EPERM): %s; attaching them is not tested here", strings.Join(refused, ", "))
	}
}

// TestTracingLinkAttr checks the BPF_LINK_CREATE each tracing kind would
// send: the program, no target (the load fixed it), the program's
// expected attach type (none for an extension) and the cookie.
func TestTracingLinkAttr(t *testing.T) {
	for _, c := range []struct {
		progType, attachType, want uint32
	}{
		{uapi.ProgTypeTracing, uapi.AttachTraceFentry, uapi.AttachTraceFentry},
		{uapi.ProgTypeTracing, uapi.AttachTraceFexit, uapi.AttachTraceFexit},
		{uapi.ProgTypeTracing, uapi.AttachModifyReturn, uapi.AttachModifyReturn},
		{uapi.ProgTypeLSM, uapi.AttachLSMMAC, uapi.AttachLSMMAC},
		{uapi.ProgTypeExt, 0, 0},
	} {
		attr := tracingLinkAttr(c.progType, c.attachType, 42, 0x1234)
		if attr.ProgFD != 42 || attr.TargetFD != 0 || attr.AttachType != c.want || attr.Flags != 0 {
			t.Errorf("type %d/%d: %+v", c.progType, c.attachType, attr)
		}
		if tr := attr.Tracing(); tr.Cookie != 0x1234 || tr.TargetBTFID != 0 {
			t.Errorf("type %d/%d: tracing part %+v, want cookie 0x1234 and no target", c.progType, c.attachType, *tr)
		}
	}
	for conv, kind := range map[string]string{"fentry.s": "fentry", "lsm.s": "lsm", "freplace": "freplace", "fmod_ret": "fmod_ret"} {
		if got := tracingKind(conv); got != kind {
			t.Errorf("tracingKind(%s) = %s, want %s", conv, got, kind)
		}
	}
	for _, conv := range []string{"fentry", "fentry.s", "fexit", "fexit.s", "fmod_ret", "fmod_ret.s", "lsm", "lsm.s", "freplace"} {
		if attachers[conv] == nil {
			t.Errorf("no attacher for %s", conv)
		}
	}
}
