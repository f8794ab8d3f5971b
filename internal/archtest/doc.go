// Package archtest holds no code: its test checks the package layering of
// DESIGN.md against what `go list` says each package imports.
package archtest
