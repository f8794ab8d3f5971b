// Command compare times rawload against libbpf and cilium/ebpf on BPF
// objects and prints the side-by-side tables, with ratios, as Markdown.
//
//	cd bench && go run ./cmd/compare [flags] [OBJ...]
//
// Without OBJ it takes ../testdata/tool_*.o, objects written in the style
// of real tools. Every loader loads the same programs (those rawload would
// load by default) and creates only the maps they use. Three measures,
// each interleaved (the loaders take turns, in a rotating order, so that
// drift of the machine's speed is shared):
//
//   - in-process: one process per loader and round runs -n open/load/close
//     cycles (libbpf/loader, cmd/rawloadload, cmd/ciliumload); the first
//     cycle of each process is left out, so this is the steady state of a
//     long-lived agent (kernel BTF already parsed where a loader caches it).
//   - fresh process: wall time of one process that loads the object once
//     and exits (`loader -1`, `rawload load`, `ciliumload -1`), start-up
//     included.
//   - max RSS of those processes (getrusage of the reaped child).
//
// Figures are medians. Fresh processes are started through libbpf/spawn.c,
// a small C program that forks, so that their max RSS is their own and
// not at least this Go program's (see spawn.c). It builds the harnesses into a temporary
// directory first: the libbpf one with make and cc against libbpf-dev, or
// against -libbpf-dir (a libbpf installed there: include/bpf/libbpf.h and
// lib/ or lib64/); without libbpf, its columns are left out.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rawload/rawload/bench"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

type config struct {
	rounds, perProcess, fresh int
	libbpfDir                 string
	keep                      string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.IntVar(&c.rounds, "rounds", 5, "in-process: processes per loader and object")
	fs.IntVar(&c.perProcess, "n", 21, "in-process: load cycles per process (the first is left out)")
	fs.IntVar(&c.fresh, "fresh", 15, "fresh processes per loader and object")
	fs.StringVar(&c.libbpfDir, "libbpf-dir", os.Getenv("LIBBPF_DIR"), "a libbpf installed under this prefix instead of the system's (default $LIBBPF_DIR)")
	fs.StringVar(&c.keep, "bin", "", "build the harnesses into this directory and keep them (default: a temporary one)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if c.rounds < 1 || c.perProcess < 2 || c.fresh < 1 {
		fmt.Fprintln(stderr, "compare: -rounds and -fresh must be at least 1, -n at least 2")
		return 2
	}
	root, benchDir, err := moduleDirs()
	if err != nil {
		fmt.Fprintln(stderr, "compare:", err)
		return 1
	}
	objects := fs.Args()
	if len(objects) == 0 {
		objects, _ = filepath.Glob(filepath.Join(root, "testdata", "tool_*.o"))
		if len(objects) == 0 {
			fmt.Fprintln(stderr, "compare: no objects given and none in testdata/tool_*.o")
			return 2
		}
	}
	bin := c.keep
	if bin == "" {
		bin, err = os.MkdirTemp("", "rawload-compare-")
		if err != nil {
			fmt.Fprintln(stderr, "compare:", err)
			return 1
		}
		defer os.RemoveAll(bin)
	} else if err := os.MkdirAll(bin, 0o755); err != nil {
		fmt.Fprintln(stderr, "compare:", err)
		return 1
	}
	loaders, notes, err := build(ctx, root, benchDir, bin, c.libbpfDir, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "compare:", err)
		return 1
	}

	var rows []row
	for _, obj := range objects {
		fmt.Fprintf(stderr, "compare: %s\n", obj)
		r, err := measure(ctx, c, loaders, obj)
		if err != nil {
			fmt.Fprintf(stderr, "compare: %s: %v\n", obj, err)
			return 1
		}
		rows = append(rows, r)
	}
	printReport(stdout, c, loaders, notes, rows)
	return 0
}

// moduleDirs finds rawload's module (root) and the bench module from the
// working directory, which is either of them or below.
func moduleDirs() (root, benchDir string, err error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := filepath.Dir(strings.TrimSpace(string(out)))
	switch {
	case fileExists(filepath.Join(mod, "cmd", "ciliumload")):
		return filepath.Dir(mod), mod, nil
	case fileExists(filepath.Join(mod, "bench", "cmd", "ciliumload")):
		return mod, filepath.Join(mod, "bench"), nil
	}
	return "", "", fmt.Errorf("run from rawload's checkout (or its bench directory), not %s", mod)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// loader is one side of the comparison: how to run it in a loop in one
// process, and how to run it once in a fresh process.
type loader struct {
	name string
	// loop is the harness with the -n interface.
	loop string
	// fresh returns the command line of one fresh-process load.
	fresh func(obj string, progs, maps []string) []string
	// needMaps says the harness must be told the maps to create.
	needMaps bool
}

const (
	libbpf  = "libbpf"
	rawload = "rawload"
	cilium  = "cilium"
)

func build(ctx context.Context, root, benchDir, bin, libbpfDir string, stderr io.Writer) (map[string]*loader, []string, error) {
	goBuild := func(dir, out, pkg string) error {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", filepath.Join(bin, out), pkg)
		cmd.Dir = dir
		cmd.Stderr = stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build %s: %w", pkg, err)
		}
		return nil
	}
	if err := goBuild(root, "rawload", "./cmd/rawload"); err != nil {
		return nil, nil, err
	}
	if err := goBuild(benchDir, "rawloadload", "./cmd/rawloadload"); err != nil {
		return nil, nil, err
	}
	if err := goBuild(benchDir, "ciliumload", "./cmd/ciliumload"); err != nil {
		return nil, nil, err
	}
	loaders := map[string]*loader{
		rawload: {
			name: rawload,
			loop: filepath.Join(bin, "rawloadload"),
			fresh: func(obj string, progs, _ []string) []string {
				args := []string{filepath.Join(bin, "rawload"), "load"}
				for _, p := range progs {
					args = append(args, "--prog", p)
				}
				return append(args, obj)
			},
		},
		cilium: {
			name: cilium,
			loop: filepath.Join(bin, "ciliumload"),
			fresh: func(obj string, progs, _ []string) []string {
				return harnessArgs(filepath.Join(bin, "ciliumload"), "-1", obj, progs, nil)
			},
		},
	}
	var notes []string
	spawn, err := bench.BuildSpawn(ctx, filepath.Join(benchDir, "libbpf"), bin)
	spawnBin = spawn
	if err != nil {
		notes = append(notes, fmt.Sprintf("no spawn timer (%v): fresh processes started from Go, whose children report at least Go's own peak RSS", err))
	}
	loaderBin, version, linkage, err := bench.BuildLibbpf(ctx, filepath.Join(benchDir, "libbpf"), bin, libbpfDir)
	if err != nil {
		notes = append(notes, fmt.Sprintf("libbpf columns left out: %v", err))
		fmt.Fprintf(stderr, "compare: no libbpf harness: %v\n", err)
	} else {
		loaders[libbpf] = &loader{
			name:     libbpf,
			loop:     loaderBin,
			needMaps: true,
			fresh: func(obj string, progs, maps []string) []string {
				return harnessArgs(loaderBin, "-1", obj, progs, maps)
			},
		}
		notes = append(notes, fmt.Sprintf("libbpf %s (%s), harness bench/libbpf/loader.c", version, linkage))
	}
	return loaders, notes, nil
}

// spawnBin is libbpf/spawn.c built, or "" to start fresh processes from
// Go directly.
var spawnBin string

func harnessArgs(bin, mode, obj string, progs, maps []string) []string {
	args := []string{bin}
	if mode != "" {
		args = append(args, mode)
	}
	for _, p := range progs {
		args = append(args, "-p", p)
	}
	for _, m := range maps {
		args = append(args, "-m", m)
	}
	return append(args, obj)
}

// row is one object's figures; each map is by loader name.
type row struct {
	object   string
	programs int
	core     bool
	inproc   map[string]float64 // median ns per load
	wall     map[string]float64 // median ns per fresh process
	rss      map[string]float64 // median max RSS, KiB
}

func measure(ctx context.Context, c config, loaders map[string]*loader, obj string) (row, error) {
	r := row{object: filepath.Base(obj), inproc: map[string]float64{}, wall: map[string]float64{}, rss: map[string]float64{}}
	progs, maps, everything, core, err := bench.Plan(obj)
	if err != nil {
		return r, err
	}
	r.programs, r.core = len(progs), core
	// Name nothing when everything is loaded, as a tool would.
	if everything {
		progs, maps = nil, nil
	}
	order := orderOf(loaders)

	// In-process: rounds of one process per loader, taking turns.
	samples := map[string][]float64{}
	for round := range c.rounds {
		for _, name := range rotate(order, round) {
			l := loaders[name]
			m := maps
			if !l.needMaps {
				m = nil
			}
			args := harnessArgs(l.loop, "-n", obj, progs, m)
			args = slices.Insert(args, 2, strconv.Itoa(c.perProcess))
			times, loaded, err := runLoop(ctx, args)
			if err != nil {
				return r, fmt.Errorf("%s: %w", name, err)
			}
			if loaded != r.programs {
				return r, fmt.Errorf("%s loaded %d programs, not %d", name, loaded, r.programs)
			}
			samples[name] = append(samples[name], times[1:]...)
		}
	}
	for name, s := range samples {
		r.inproc[name] = median(s)
	}

	// Fresh processes, one warm-up each (page cache), then taking turns.
	walls, rsss := map[string][]float64{}, map[string][]float64{}
	for i := -1; i < c.fresh; i++ {
		for _, name := range rotate(order, max(i, 0)) {
			l := loaders[name]
			wall, rss, err := runFresh(ctx, l.fresh(obj, progs, maps))
			if err != nil {
				return r, fmt.Errorf("%s: %w", name, err)
			}
			if i >= 0 {
				walls[name] = append(walls[name], float64(wall.Nanoseconds()))
				rsss[name] = append(rsss[name], float64(rss))
			}
		}
	}
	for name := range walls {
		r.wall[name] = median(walls[name])
		r.rss[name] = median(rsss[name])
	}
	return r, nil
}

func orderOf(loaders map[string]*loader) []string {
	var order []string
	for _, name := range []string{libbpf, rawload, cilium} {
		if loaders[name] != nil {
			order = append(order, name)
		}
	}
	return order
}

func rotate(s []string, by int) []string {
	by %= len(s)
	return append(slices.Clone(s[by:]), s[:by]...)
}

// runLoop runs a -n harness and returns its per-run times and the number
// of programs it says it loaded per run.
func runLoop(ctx context.Context, args []string) ([]float64, int, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, 0, fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	var times []float64
	for _, f := range strings.Fields(stdout.String()) {
		ns, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: bad output %q", args[0], f)
		}
		times = append(times, ns)
	}
	loaded := -1
	for _, line := range strings.Split(stderr.String(), "\n") {
		if _, rest, ok := strings.Cut(line, ": "); ok && strings.HasSuffix(line, " programs loaded per run") {
			rest = rest[strings.LastIndex(rest, ": ")+2:]
			loaded, _ = strconv.Atoi(strings.Fields(rest)[0])
		}
	}
	if len(times) < 2 {
		return nil, 0, fmt.Errorf("%s: %d runs reported", args[0], len(times))
	}
	return times, loaded, nil
}

// runFresh runs one process to its end and returns its wall time (start
// to reaped) and its max RSS in KiB, through spawn when there is one. Its
// output goes to /dev/null.
func runFresh(ctx context.Context, args []string) (time.Duration, int64, error) {
	if spawnBin != "" {
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, spawnBin, args...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return 0, 0, fmt.Errorf("spawn %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		var wall, rss int64
		var code int
		if _, err := fmt.Sscan(stdout.String(), &wall, &rss, &code); err != nil {
			return 0, 0, fmt.Errorf("spawn: bad output %q", stdout.String())
		}
		if code != 0 {
			return 0, 0, fmt.Errorf("%s: exit status %d: %s", strings.Join(args, " "), code, strings.TrimSpace(stderr.String()))
		}
		return time.Duration(wall), rss, nil
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	wall := time.Since(start)
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, 0, errors.New("no rusage")
	}
	return wall, ru.Maxrss, nil
}

func median(s []float64) float64 {
	s = slices.Clone(s)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func geomean(s []float64) float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	sum := 0.0
	for _, v := range s {
		sum += math.Log(v)
	}
	return math.Exp(sum / float64(len(s)))
}

func printReport(w io.Writer, c config, loaders map[string]*loader, notes []string, rows []row) {
	fmt.Fprintf(w, "Machine: %s; kernel %s; %d CPUs; %s; cilium/ebpf %s\n",
		cpuModel(), kernelRelease(), runtime.NumCPU(), runtime.Version(), ciliumVersion())
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	fmt.Fprintf(w, "Medians, interleaved: in-process over %d processes x %d loads (first load of each left out); fresh over %d processes each.\n",
		c.rounds, c.perProcess-1, c.fresh)
	order := orderOf(loaders)
	ms := func(v float64) string { return fmt.Sprintf("%.2f", v/1e6) }
	mib := func(v float64) string { return fmt.Sprintf("%.1f", v/1024) }
	table(w, "In-process load (ms: open, load, close)", order, rows, func(r row) map[string]float64 { return r.inproc }, ms)
	table(w, "Fresh process (ms wall: start to exit)", order, rows, func(r row) map[string]float64 { return r.wall }, ms)
	table(w, "Fresh process max RSS (MiB)", order, rows, func(r row) map[string]float64 { return r.rss }, mib)
}

func table(w io.Writer, title string, order []string, rows []row, pick func(row) map[string]float64, format func(float64) string) {
	fmt.Fprintf(w, "\n%s\n\n", title)
	hasLibbpf := slices.Contains(order, libbpf)
	header := []string{"object", "progs", "CO-RE"}
	header = append(header, order...)
	if hasLibbpf {
		header = append(header, "rawload/libbpf")
	}
	header = append(header, "rawload/cilium")
	lines := [][]string{header}
	var vsLibbpf, vsCilium []float64
	for _, r := range rows {
		v := pick(r)
		core := "no"
		if r.core {
			core = "yes"
		}
		line := []string{r.object, strconv.Itoa(r.programs), core}
		for _, name := range order {
			line = append(line, format(v[name]))
		}
		if hasLibbpf {
			q := v[rawload] / v[libbpf]
			vsLibbpf = append(vsLibbpf, q)
			line = append(line, fmt.Sprintf("%.2f", q))
		}
		q := v[rawload] / v[cilium]
		vsCilium = append(vsCilium, q)
		line = append(line, fmt.Sprintf("%.2f", q))
		lines = append(lines, line)
	}
	last := []string{"geomean", "", ""}
	for range order {
		last = append(last, "")
	}
	if hasLibbpf {
		last = append(last, fmt.Sprintf("%.2f", geomean(vsLibbpf)))
	}
	last = append(last, fmt.Sprintf("%.2f", geomean(vsCilium)))
	lines = append(lines, last)
	markdown(w, lines)
}

// markdown prints lines as a Markdown table, columns padded, numbers
// right-aligned.
func markdown(w io.Writer, lines [][]string) {
	widths := make([]int, len(lines[0]))
	for _, l := range lines {
		for i, cell := range l {
			widths[i] = max(widths[i], len(cell))
		}
	}
	for n, l := range lines {
		var b strings.Builder
		b.WriteString("|")
		for i, cell := range l {
			if i == 0 {
				fmt.Fprintf(&b, " %-*s |", widths[i], cell)
			} else {
				fmt.Fprintf(&b, " %*s |", widths[i], cell)
			}
		}
		fmt.Fprintln(w, b.String())
		if n == 0 {
			b.Reset()
			b.WriteString("|")
			for i := range l {
				if i == 0 {
					b.WriteString(strings.Repeat("-", widths[i]+2) + "|")
				} else {
					b.WriteString(strings.Repeat("-", widths[i]+1) + ":|")
				}
			}
			fmt.Fprintln(w, b.String())
		}
	}
}

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func kernelRelease() string {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return "?"
	}
	var b []byte
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}

func ciliumVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/cilium/ebpf" {
				return d.Version
			}
		}
	}
	return "?"
}
