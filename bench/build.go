package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rawload/rawload/bpf"
)

// BuildSpawn builds libbpf/spawn.c (src is the libbpf directory) into
// bin with make and cc, and returns its path.
func BuildSpawn(ctx context.Context, src, bin string) (string, error) {
	path := filepath.Join(bin, "spawn")
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "make", "-s", "-C", src, "SPAWN="+path, path)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("make spawn: %v: %s", err, lastLine(out.String()))
	}
	return path, nil
}

// BuildLibbpf builds libbpf/loader.c (src is the libbpf directory) into
// bin with make and cc, against the system's libbpf or the one installed
// under libbpfDir, and returns its path, libbpf's version and how it is
// linked.
func BuildLibbpf(ctx context.Context, src, bin, libbpfDir string) (path, version, linkage string, err error) {
	path = filepath.Join(bin, "loader")
	args := []string{"-s", "-C", src, "OUT=" + path, "SPAWN=" + filepath.Join(bin, "spawn")}
	if libbpfDir != "" {
		args = append(args, "LIBBPF_DIR="+libbpfDir)
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "make", append(args, path)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", "", "", fmt.Errorf("make %s: %v: %s", strings.Join(args, " "), err, lastLine(out.String()))
	}
	v, err := exec.CommandContext(ctx, path, "-V").Output()
	if err != nil {
		return "", "", "", fmt.Errorf("%s -V: %w", path, err)
	}
	l, _ := exec.CommandContext(ctx, "make", append(args, "linkage")...).Output()
	return path, strings.TrimSpace(string(v)), strings.TrimSpace(string(l)), nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// Plan is what every loader is asked to load from obj: the programs
// rawload loads by default (all but those of "?" sections) and the maps
// they use; all says that is every program and every map of the
// object, and core that some program has CO-RE relocations.
func Plan(obj string) (progs, maps []string, all, core bool, err error) {
	spec, err := bpf.ReadSpec(obj)
	if err != nil {
		return nil, nil, false, false, err
	}
	all = true
	for _, p := range spec.Programs {
		if !p.Autoload {
			all = false
			continue
		}
		progs = append(progs, p.Name)
		for _, m := range p.Maps {
			if !slices.Contains(maps, m) {
				maps = append(maps, m)
			}
		}
		core = core || p.CORERelocations > 0
	}
	if len(progs) == 0 {
		return nil, nil, false, false, errors.New("no program to load")
	}
	return progs, maps, all && len(maps) == len(spec.Maps), core, nil
}
