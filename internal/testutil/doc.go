// Package testutil holds what the tests of several packages need alike:
// deciding whether a kernel test runs, counting fds to prove nothing
// leaks, starving the process of fds, and finding cilium/ebpf's test
// objects. It is imported by tests only, and imports none of bpf,
// internal/kernel or syscall, so that their own tests can use it.
package testutil
