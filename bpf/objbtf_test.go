package bpf

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/kernel"
	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/syscall"
)

// TestObjectBTFTransientNotKept fails every BTF_LOAD with EMFILE: the
// object's BTF load fails, and succeeds at the next use once fds are
// there again. Only the kernel's refusal of the blob is kept.
func TestObjectBTFTransientNotKept(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("loader.o"), nil)
	// Probe first, so that the faults reach the object's own BTF load.
	must(t, kernel.System().CheckBTFSupport())
	syscall.SetFaultHook(func(cmd int) unix.Errno {
		if cmd == uapi.CmdBTFLoad {
			return unix.EMFILE
		}
		return 0
	})
	obj.mu.Lock()
	_, err := obj.btf.get(obj.spec.BTF)
	obj.mu.Unlock()
	syscall.SetFaultHook(nil)
	if !errors.Is(err, unix.EMFILE) {
		t.Fatalf("object BTF with BTF_LOAD failing: %v, want EMFILE", err)
	}
	obj.mu.Lock()
	fd, err := obj.btf.get(obj.spec.BTF)
	obj.mu.Unlock()
	if err != nil || fd <= 0 {
		t.Fatalf("object BTF once BTF_LOAD works again: fd %d, %v", fd, err)
	}

	// A blob the kernel refuses stays refused without asking again.
	var refused objectBTF
	refused.fd = -1
	if _, err := refused.get([]byte("not BTF")); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("garbage BTF: %v, want EINVAL", err)
	}
	calls := 0
	syscall.SetFaultHook(func(int) unix.Errno { calls++; return 0 })
	refused.get([]byte("not BTF"))
	syscall.SetFaultHook(nil)
	if calls != 0 {
		t.Errorf("a refused blob was loaded again (%d bpf calls)", calls)
	}
}

// TestGettersDuringBTFLoad holds the object's first BTF_LOAD in the
// fault hook: meanwhile the Object's getters answer, so the load does
// not hold the Object's lock (it used to, and they waited).
func TestGettersDuringBTFLoad(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	obj := mustOpen(t, testdata("loader.o"), nil)
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	syscall.SetFaultHook(func(cmd int) unix.Errno {
		if cmd == uapi.CmdBTFLoad {
			once.Do(func() { close(entered); <-release })
		}
		return 0
	})
	defer syscall.SetFaultHook(nil)
	loaded := make(chan error, 1)
	go func() { loaded <- obj.Load(context.Background()) }()
	select {
	case <-entered:
	case err := <-loaded:
		t.Fatalf("Load made no BTF_LOAD: %v", err)
	}
	answered := make(chan struct{})
	go func() {
		for _, p := range obj.Programs() {
			p.FD()
		}
		for _, m := range obj.Maps() {
			m.Users()
		}
		obj.Stats()
		close(answered)
	}()
	select {
	case <-answered:
	case <-time.After(10 * time.Second):
		close(release)
		<-loaded
		t.Fatal("the getters waited for the BTF load")
	}
	close(release)
	if err := <-loaded; err != nil {
		t.Fatal(err)
	}
	if obj.Stats().ObjectBTF == 0 {
		t.Error("Stats says the BTF load took no time")
	}
}
