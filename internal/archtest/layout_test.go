package archtest

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/rawload/rawload"

// allowed lists, for each package of the module, what it may import
// besides the standard library: the layering of DESIGN.md, where imports
// only point down. The pure packages take no x/sys, so they build on any
// GOOS.
var allowed = map[string][]string{
	"ldimm64":           {},
	"elf":               {},
	"internal/uapi":     {},
	"internal/rawbtf":   {},
	"internal/archtest": {},
	"syscall":           {"golang.org/x/sys/unix", "internal/uapi"},
	"fdtable":           {"golang.org/x/sys/unix"},
	"reloc":             {"elf", "ldimm64", "internal/uapi", "internal/rawbtf", "github.com/cilium/ebpf/btf", "github.com/cilium/ebpf/asm"},
	"internal/kernel":   {"golang.org/x/sys/unix", "github.com/cilium/ebpf/btf", "syscall", "internal/uapi", "internal/rawbtf"},
	"internal/testutil": {"golang.org/x/sys/unix", "syscall", "internal/uapi"},
	"bpf": {"golang.org/x/sys/unix", "github.com/cilium/ebpf/btf", "github.com/cilium/ebpf/asm",
		"elf", "ldimm64", "reloc", "syscall", "fdtable", "internal/uapi", "internal/kernel", "bpf/internal/"},
	"cmd/rawload": {"bpf", "bpf/"},
	// The readers' shared test helpers.
	"bpf/internal/eventtest": {"golang.org/x/sys/unix", "bpf", "internal/testutil"},
	"fuzz":                   {"elf", "reloc", "bpf"},
	// Example programs: what a user of the library imports.
	"examples/sysenter": {"bpf", "bpf/"},
}

func TestLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}|{{join .Imports ","}}`, module+"/...").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, "|")
		rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
		rules, ok := allowed[rel]
		if !ok && strings.HasPrefix(rel, "bpf/") {
			// Event readers, feature sets and what they share under
			// bpf/internal: what bpf may import, and bpf.
			rules, ok = allowed["bpf"], true
			rules = append(slices.Clip(rules), "bpf", "bpf/internal/")
		}
		if !ok {
			t.Errorf("package %s is not in the layering table", rel)
			continue
		}
		for _, imp := range strings.Split(imports, ",") {
			if imp == "" || isStdlib(imp) {
				continue
			}
			if !permitted(rules, imp) {
				t.Errorf("%s imports %s", rel, imp)
			}
		}
	}
}

func isStdlib(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func permitted(rules []string, imp string) bool {
	rel, inModule := strings.CutPrefix(imp, module+"/")
	for _, r := range rules {
		switch {
		case !inModule && r == imp:
			return true
		case inModule && (r == rel || strings.HasSuffix(r, "/") && strings.HasPrefix(rel, r)):
			return true
		}
	}
	return false
}
