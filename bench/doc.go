// Package bench compares rawload with cilium/ebpf: which programs of
// cilium/ebpf's own test objects each loads (peer_test.go), and how long
// loading takes (load_bench_test.go). It is a separate module so that
// rawload itself never depends on cilium/ebpf's loader.
package bench
