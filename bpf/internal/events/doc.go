// Package events holds what the event readers (bpf/ringbuf, bpf/perf)
// share: a wakeable epoll set and a reader's own reference to a map.
package events
