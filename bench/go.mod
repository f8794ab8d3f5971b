module github.com/rawload/rawload/bench

go 1.26.8

require (
	github.com/cilium/ebpf v0.22.0
	github.com/rawload/rawload v0.0.0
	golang.org/x/sys v0.50.0
)

replace github.com/rawload/rawload => ../
