package bpf

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
	"github.com/rawload/rawload/syscall"
)

var cmdNames = map[int]string{
	uapi.CmdMapCreate: "MAP_CREATE", uapi.CmdMapUpdateElem: "MAP_UPDATE_ELEM", uapi.CmdProgLoad: "PROG_LOAD",
	uapi.CmdObjGetInfoByFD: "OBJ_GET_INFO_BY_FD", uapi.CmdBTFLoad: "BTF_LOAD", uapi.CmdMapFreeze: "MAP_FREEZE",
	uapi.CmdProgBindMap: "PROG_BIND_MAP", uapi.CmdObjGet: "OBJ_GET", uapi.CmdObjPin: "OBJ_PIN",
}

// countBPF runs f and counts its bpf(2) calls by command.
func countBPF(t *testing.T, f func()) string {
	t.Helper()
	var mu sync.Mutex
	counts := map[int]int{}
	old := syscall.SetFaultHook(func(cmd int) unix.Errno {
		mu.Lock()
		counts[cmd]++
		mu.Unlock()
		return 0
	})
	defer syscall.SetFaultHook(old)
	f()
	var parts []string
	for _, cmd := range slices.Sorted(maps.Keys(counts)) {
		name, ok := cmdNames[cmd]
		if !ok {
			name = fmt.Sprint(cmd)
		}
		parts = append(parts, fmt.Sprintf("%s=%d", name, counts[cmd]))
	}
	return strings.Join(parts, " ")
}

// TestSyscallsPerLoad: in a process that has loaded before (feature
// probes and kernel BTF known), opening and loading an object makes
// exactly the bpf(2) calls it needs: one BTF_LOAD when the object has
// BTF for the kernel, one MAP_CREATE per map its programs use, the
// initial contents (MAP_UPDATE_ELEM) and freeze of global data, one
// PROG_LOAD per program, .rodata bound to each program that does not
// reference it, and nothing else: no retry, no probe, no info query.
func TestSyscallsPerLoad(t *testing.T) {
	requireKernel(t)
	checkNoLeak(t)
	// Open makes no bpf(2) call at all.
	want := map[string]string{
		// 10 maps, 5 of them global data (.bss all zero: no write; 2
		// .rodata sections frozen), 4 programs, 3 of which do not
		// reference .rodata and are bound to it.
		"loader.o": "MAP_CREATE=10 MAP_UPDATE_ELEM=4 PROG_LOAD=4 BTF_LOAD=1 MAP_FREEZE=2 PROG_BIND_MAP=3",
		// ring buffer, perf array, .rodata (written, frozen), .bss.
		"events.o": "MAP_CREATE=4 MAP_UPDATE_ELEM=1 PROG_LOAD=1 BTF_LOAD=1 MAP_FREEZE=1",
		"reload.o": "MAP_CREATE=2 PROG_LOAD=1 BTF_LOAD=1",
		"core.o":   "MAP_CREATE=2 PROG_LOAD=3 BTF_LOAD=1",
		"legacy.o": "MAP_CREATE=2 PROG_LOAD=1 BTF_LOAD=1",
		// A program array and .bss; two slots filled as their programs load.
		"tailcall.o": "MAP_CREATE=2 MAP_UPDATE_ELEM=2 PROG_LOAD=3 BTF_LOAD=1",
	}
	load := func(name string) (open, loaded string) {
		var obj *Object
		open = countBPF(t, func() {
			var err error
			obj, err = Open(testdata(name), nil)
			if err != nil {
				t.Fatal(err)
			}
		})
		defer obj.Close()
		loaded = countBPF(t, func() {
			if err := obj.Load(context.Background()); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		})
		return open, loaded
	}
	for name := range want {
		load(name) // warm the process: probes, kernel BTF
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		open, loaded := load(name)
		if open != "" || loaded != want[name] {
			t.Errorf("%s: Open made [%s], Load [%s]; want [], [%s]", name, open, loaded, want[name])
		}
	}

	// A reload of a loaded program is one PROG_LOAD (and the .rodata
	// binding of its new instance).
	obj := mustOpen(t, testdata("loader.o"), nil)
	must(t, obj.Load(context.Background()))
	for _, p := range obj.Programs() {
		binds := !slices.Contains(p.Spec().Maps, ".rodata")
		want := "PROG_LOAD=1"
		if binds {
			want += " PROG_BIND_MAP=1"
		}
		got := countBPF(t, func() {
			must(t, p.Unload())
			must(t, p.Load())
		})
		if got != want {
			t.Errorf("%s: Unload+Load made [%s], want [%s]", p.Name(), got, want)
		}
	}
}
