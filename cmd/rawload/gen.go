package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/rawload/rawload/bpf/gen"
)

const genSynopsis = "--pkg NAME [--name NAME] [--type NAME]... [--out FILE] [--cc CLANG [--cflags FLAGS]] OBJ|SOURCE.c"

// runGen writes typed Go bindings for an object (bpf/gen), compiling a C
// source first with --cc, as bpf2go does under go:generate.
func runGen(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("gen", genSynopsis, stderr)
	pkg := fs.String("pkg", os.Getenv("GOPACKAGE"), "Go package of the file (default $GOPACKAGE, set by go generate)")
	name := fs.String("name", "", "prefix of the declared identifiers (default: the object's base name)")
	out := fs.String("out", "", "Go file to write (default NAME_bpf.go next to the object)")
	cc := fs.String("cc", "", "compile SOURCE.c with this clang first, into NAME.o next to the Go file")
	cflags := fs.String("cflags", "", "further clang flags, split at spaces")
	var types stringList
	fs.Var(&types, "type", "also declare this C type: event, struct event, enum kind, pid_t (repeatable)")
	positional, code, ok := parseCommandLine(fs, args, 1, 1)
	if !ok {
		return code
	}
	if *pkg == "" {
		fmt.Fprintln(stderr, "rawload gen: --pkg is required outside go generate")
		fs.Usage()
		return exitUsage
	}
	input := positional[0]
	stem := strings.TrimSuffix(filepath.Base(input), filepath.Ext(input))
	if *out == "" {
		*out = filepath.Join(filepath.Dir(input), stem+"_bpf.go")
	}
	dir := filepath.Dir(*out)
	object := input
	if strings.HasSuffix(input, ".c") {
		if *cc == "" {
			fmt.Fprintln(stderr, "rawload gen: a C source needs --cc (e.g. --cc clang-19)")
			return exitUsage
		}
		object = filepath.Join(dir, stem+".o")
		if err := compile(*cc, *cflags, input, object, stderr); err != nil {
			fmt.Fprintf(stderr, "rawload gen: %v\n", err)
			return exitFailure
		}
	}
	if err := writeBindings(object, *out, gen.Options{
		Package: *pkg, Name: *name, Types: types,
		Command: "rawload gen " + quoteArgs(args),
	}); err != nil {
		fmt.Fprintf(stderr, "rawload gen: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "wrote %s\n", *out)
	return exitOK
}

// compile runs clang -target bpf -O2 -g -c, the flags bpf2go uses, with
// the object's output where the Go file will embed it.
func compile(cc, cflags, src, obj string, stderr io.Writer) error {
	path, err := exec.LookPath(cc)
	if err != nil {
		return err
	}
	// As bpf2go does, the debug info names the source's directory ".",
	// so the object does not depend on where the checkout is.
	dir, err := filepath.Abs(filepath.Dir(src))
	if err != nil {
		return err
	}
	argv := append([]string{cc, "-target", "bpf", "-O2", "-g", "-fdebug-prefix-map=" + dir + "=.", "-fdebug-compilation-dir=."}, strings.Fields(cflags)...)
	argv = append(argv, "-c", src, "-o", obj)
	// syscall.ForkExec rather than os/exec.Cmd: a smaller binary. The
	// compiler's output goes to stderr through a pipe.
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, w.Fd(), w.Fd()}})
	w.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", cc, err)
	}
	io.Copy(stderr, r)
	var st syscall.WaitStatus
	for {
		_, err = syscall.Wait4(pid, &st, 0, nil)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", cc, err)
	}
	if st.ExitStatus() != 0 {
		return fmt.Errorf("%s %s failed (exit status %d)", cc, src, st.ExitStatus())
	}
	return nil
}

// writeBindings generates the Go file for object, which must be in the
// Go file's directory for //go:embed; an object elsewhere is copied
// there first.
func writeBindings(object, out string, opts gen.Options) error {
	data, err := os.ReadFile(object)
	if err != nil {
		return err
	}
	dir, base := filepath.Dir(out), filepath.Base(object)
	if filepath.Clean(filepath.Dir(object)) != filepath.Clean(dir) {
		if err := os.WriteFile(filepath.Join(dir, base), data, 0o644); err != nil {
			return fmt.Errorf("copying %s next to %s: %w", object, out, err)
		}
	}
	opts.ObjectFile = base
	src, err := gen.Generate(data, opts)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}

// quoteArgs joins args as a shell (and go:generate) would read them back.
func quoteArgs(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = a
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$") {
			quoted[i] = strconv.Quote(a)
		}
	}
	return strings.Join(quoted, " ")
}
