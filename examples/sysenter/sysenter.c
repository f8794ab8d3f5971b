//go:build ignore

// SPDX-License-Identifier: GPL-2.0
/*
 * sysenter: one ring buffer record per system call entry (raw_tp/sys_enter)
 * of one process, or of every process when target_tgid is 0, and a count
 * per system call number. Built by `go generate` (see main.go) with the
 * helpers of rawload's testdata/include, which need nothing but clang.
 */
#include "rawload_helpers.h"

static long (*bpf_get_current_comm)(void *buf, __u32 size) = (void *)16;

struct bpf_raw_tracepoint_args {
	__u64 args[0];
};

struct event {
	__u32 tgid;
	__u32 tid;
	__s64 nr;
	char comm[16];
};

struct stats {
	__u64 seen;
	__u64 dropped;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

/* Set by user space before the object is loaded. */
const volatile __u32 target_tgid = 0;

struct stats stats;

/* Not inlined, so that struct event is in BTF for `--type event`. */
static __noinline void fill(struct event *e, __u64 id, long nr)
{
	e->tgid = id >> 32;
	e->tid = (__u32)id;
	e->nr = nr;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
}

SEC("raw_tp/sys_enter")
int on_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	long nr = ctx->args[1];
	__u32 key = nr;
	__u64 one = 1, *count;
	struct event *e;

	if (target_tgid && (id >> 32) != target_tgid)
		return 0;
	__sync_fetch_and_add(&stats.seen, 1);
	count = bpf_map_lookup_elem(&counts, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST);

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&stats.dropped, 1);
		return 0;
	}
	fill(e, id, nr);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
