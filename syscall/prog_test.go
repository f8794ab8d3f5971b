package syscall

import (
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/internal/uapi"
)

// socketFilter returns options for a socket filter that returns ret.
func socketFilter(name string, ret int32) *ProgLoadOptions {
	return &ProgLoadOptions{
		Type:    uapi.ProgTypeSocketFilter,
		Name:    name,
		Insns:   asm(movImm(0, ret), exit()),
		License: "GPL",
	}
}

func TestProgLoadAndTestRun(t *testing.T) {
	kernelTest(t)
	fd, res := loadProg(t, socketFilter("ret42", 42))
	if res.Log != "" {
		t.Errorf("log without a log level: %q", res.Log)
	}

	data := make([]byte, 64) // at least an Ethernet header
	out := make([]byte, 64)
	run, err := ProgTestRun(&ProgTestRunOptions{ProgFD: fd, DataIn: data, DataOut: out, Repeat: 1})
	if err != nil {
		t.Fatal("test run:", err)
	}
	if run.Retval != 42 {
		t.Errorf("retval %d, want 42", run.Retval)
	}
	if run.DataSizeOut != uint32(len(data)) {
		t.Errorf("data size out %d, want %d", run.DataSizeOut, len(data))
	}

	info, err := ProgInfoByFD(fd)
	if err != nil {
		t.Fatal("info:", err)
	}
	if info.Type != uapi.ProgTypeSocketFilter || info.Name != "ret42" || info.ID == 0 {
		t.Errorf("info: type %d name %q id %d", info.Type, info.Name, info.ID)
	}
	if info.VerifiedInsns != 2 || info.XlatedProgLen != 16 {
		t.Errorf("info: verified %d insns, xlated %d bytes; want 2 and 16", info.VerifiedInsns, info.XlatedProgLen)
	}
	if !info.GPLCompatible || info.Tag == [uapi.TagSize]byte{} || info.LoadTime == 0 || len(info.MapIDs) != 0 {
		t.Errorf("info: gpl %v tag %x load time %d map ids %v", info.GPLCompatible, info.Tag, info.LoadTime, info.MapIDs)
	}

	requireIDListed(t, ProgGetNextID, info.ID)
	fd2 := closeOnCleanup(t, mustFD(t)(ProgGetFDByID(info.ID)))
	if info2, err := ProgInfoByFD(fd2); err != nil || info2.Tag != info.Tag {
		t.Errorf("ProgGetFDByID(%d): %+v, %v", info.ID, info2, err)
	}
}

func TestProgLoadLogOnSuccess(t *testing.T) {
	kernelTest(t)
	o := socketFilter("logged", 0)
	o.LogLevel = uapi.LogLevel1
	_, res := loadProg(t, o)
	if !strings.Contains(res.Log, "processed 2 insns") {
		t.Errorf("log at level 1 lacks the totals:\n%s", res.Log)
	}
}

func TestProgLoadVerifierError(t *testing.T) {
	kernelTest(t)
	for _, level := range []uint32{0, uapi.LogLevel1} {
		t.Run(fmt.Sprint("level", level), func(t *testing.T) {
			// r0 is never written, so exit returns an uninitialized register.
			res, err := ProgLoad(&ProgLoadOptions{
				Type:     uapi.ProgTypeSocketFilter,
				Insns:    asm(exit()),
				License:  "GPL",
				LogLevel: level,
			})
			if !errors.Is(err, unix.EACCES) && !errors.Is(err, unix.EINVAL) {
				t.Errorf("error %v, want EACCES or EINVAL", err)
			}
			if _, ok := err.(unix.Errno); !ok {
				t.Errorf("error %T, want a bare unix.Errno", err)
			}
			if res.FD != -1 {
				t.Errorf("fd %d after a failed load", res.FD)
			}
			if !strings.Contains(res.Log, "R0 !read_ok") {
				t.Errorf("log lacks the reason:\n%s", res.Log)
			}
		})
	}
}

// A log too big for MinLogSize must come back whole: its first instruction,
// its last, and the totals.
func TestProgLoadLogGrowth(t *testing.T) {
	kernelTest(t)
	const adds = 4000
	insns := []insn{movImm(0, 0)}
	for range adds {
		insns = append(insns, addImm(0, 1))
	}
	insns = append(insns, exit())

	fd, res := loadProg(t, &ProgLoadOptions{
		Type:     uapi.ProgTypeSocketFilter,
		Name:     "biglog",
		Insns:    asm(insns...),
		License:  "GPL",
		LogLevel: uapi.LogLevel2,
	})
	if len(res.Log) <= MinLogSize {
		t.Fatalf("log is %d bytes, no bigger than the first buffer; the test does not exercise growth", len(res.Log))
	}
	if !strings.Contains(res.Log, "0: (b7) r0 = 0") {
		t.Errorf("log lacks its beginning:\n%.300s", res.Log)
	}
	if last := fmt.Sprintf("%d: (95) exit", adds+1); !strings.Contains(res.Log, last) {
		t.Errorf("log lacks %q", last)
	}
	m := regexp.MustCompile(`processed (\d+) insns`).FindStringSubmatch(res.Log)
	if m == nil {
		t.Fatalf("log lacks the totals; it ends:\n%s", res.Log[max(0, len(res.Log)-300):])
	}
	if n, _ := strconv.Atoi(m[1]); n != len(insns) {
		t.Errorf("processed %d insns, want %d", n, len(insns))
	}

	info, err := ProgInfoByFD(fd)
	if err != nil {
		t.Fatal(err)
	}
	if info.VerifiedInsns != uint32(len(insns)) {
		t.Errorf("verified %d insns, want %d", info.VerifiedInsns, len(insns))
	}
}

func TestProgInfoMapIDs(t *testing.T) {
	kernelTest(t)
	used := createMap(t, &MapCreateAttr{MapType: uapi.MapTypeArray, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	bound := createMap(t, &MapCreateAttr{MapType: uapi.MapTypeArray, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	usedInfo, err := MapInfoByFD(used)
	if err != nil {
		t.Fatal(err)
	}
	boundInfo, err := MapInfoByFD(bound)
	if err != nil {
		t.Fatal(err)
	}

	insns := append(ldMapFD(1, used), movImm(0, 0), exit())
	fd, _ := loadProg(t, &ProgLoadOptions{Type: uapi.ProgTypeSocketFilter, Insns: asm(insns...), License: "GPL"})
	info, err := ProgInfoWithMapsByFD(fd)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.MapIDs) != 1 || info.MapIDs[0] != usedInfo.ID {
		t.Errorf("map IDs %v, want [%d]", info.MapIDs, usedInfo.ID)
	}
	// One call, without asking for the ids.
	if plain, err := ProgInfoByFD(fd); err != nil || plain.MapIDs != nil || plain.ID != info.ID {
		t.Errorf("ProgInfoByFD: %+v, %v; want the program without map ids", plain, err)
	}

	if err := ProgBindMap(fd, bound, 0); err != nil {
		t.Fatal("bind map:", err)
	}
	info, err = ProgInfoWithMapsByFD(fd)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.MapIDs) != 2 || info.MapIDs[0] != usedInfo.ID || info.MapIDs[1] != boundInfo.ID {
		t.Errorf("map IDs after binding %v, want [%d %d]", info.MapIDs, usedInfo.ID, boundInfo.ID)
	}
}

// ProgLoad blocks signals on the loading thread only while it loads.
func TestProgLoadRestoresSignalMask(t *testing.T) {
	kernelTest(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	var before, after unix.Sigset_t
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, nil, &before); err != nil {
		t.Fatal(err)
	}
	loadProg(t, socketFilter("mask", 0))
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, nil, &after); err != nil {
		t.Fatal(err)
	}
	if before != after {
		t.Errorf("signal mask %v after ProgLoad, %v before", after, before)
	}
}

// Loads share nothing, so they may run from many goroutines at once.
func TestProgLoadConcurrent(t *testing.T) {
	kernelTest(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Go(func() {
			for i := range 8 {
				o := socketFilter(fmt.Sprintf("g%d_%d", g, i), int32(i))
				o.LogLevel = uapi.LogLevel1
				res, err := ProgLoad(o)
				if err != nil {
					errs <- err
					continue
				}
				if !strings.Contains(res.Log, "processed 2 insns") {
					errs <- fmt.Errorf("log %q", res.Log)
				}
				unix.Close(res.FD)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestProgLoadOptionsInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    ProgLoadOptions
	}{
		{"truncated instruction", ProgLoadOptions{Insns: make([]byte, 12)}},
		{"two attach targets", ProgLoadOptions{Insns: make([]byte, 8), AttachProgFD: 3, AttachBTFObjFD: 4}},
		{"NUL in license", ProgLoadOptions{Insns: make([]byte, 8), License: "G\x00PL"}},
		{"func info without record size", ProgLoadOptions{Insns: make([]byte, 8), FuncInfo: make([]byte, 8)}},
		{"line info not a multiple of its records", ProgLoadOptions{Insns: make([]byte, 8), LineInfo: make([]byte, 20), LineInfoRecSize: 16}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := ProgLoad(&tc.o)
			if !errors.Is(err, unix.EINVAL) {
				t.Errorf("error %v, want EINVAL", err)
			}
			if res.FD != -1 {
				t.Errorf("fd %d", res.FD)
			}
		})
	}
}

func TestObjName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"xdp_prog", "xdp_prog"},
		{"tc/ingress-filter", "tcingressfilter"},
		{"a.b_C9", "a.b_C9"},
		{"exactly_15_char", "exactly_15_char"},
		{"sixteen_chars_xx", "sixteen_chars_x"},
		{"ü_and_€", "_and_"},
	} {
		got := ObjName(tc.in)
		if s := unix.ByteSliceToString(got[:]); s != tc.want {
			t.Errorf("ObjName(%q) = %q, want %q", tc.in, s, tc.want)
		}
		if got[uapi.ObjNameLen-1] != 0 {
			t.Errorf("ObjName(%q) fills the last byte", tc.in)
		}
	}
}
