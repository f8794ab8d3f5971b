package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
)

// runVersion prints the module version and the VCS revision the binary
// was built from, as the Go toolchain recorded them.
func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("version", "", stderr)
	if _, code, ok := parseCommandLine(fs, args, 0, 0); !ok {
		return code
	}
	fmt.Fprintln(stdout, versionString())
	return exitOK
}

func versionString() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "rawload (no build information)"
	}
	version := info.Main.Version
	if version == "" {
		version = "(devel)"
	}
	s := "rawload " + version
	var revision, modified string
	for _, setting := range info.Settings {
		switch setting.Key {
		case "vcs.revision":
			revision = setting.Value
		case "vcs.modified":
			if setting.Value == "true" {
				modified = ", modified"
			}
		}
	}
	if revision != "" {
		s += fmt.Sprintf(" (revision %s%s)", revision, modified)
	}
	return s + ", " + info.GoVersion
}
