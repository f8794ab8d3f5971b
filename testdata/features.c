// SPDX-License-Identifier: GPL-2.0
/*
 * Programs for feature sets: a feature that prefers an fexit program and
 * falls back to a raw tracepoint (trampolines are refused on some
 * kernels), a second feature sharing the first one's map, and a feature
 * whose second program the verifier rejects, to prove an enable is undone.
 */
#include "rawload_helpers.h"

/* hits[0]: count_fexit or count_enter; [1]: count_exit; [2]: count_other. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} hits SEC(".maps");

/* Used only by the broken feature's programs. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} other_seen SEC(".maps");

static __always_inline void bump(__u32 index)
{
	__u64 *count = bpf_map_lookup_elem(&hits, &index);

	if (count)
		__sync_fetch_and_add(count, 1);
}

/* The first choice: needs a BPF trampoline. */
SEC("fexit/do_unlinkat")
int count_fexit(__u64 *ctx)
{
	bump(0);
	return 0;
}

/* The fallback: runs at every system call entry. */
SEC("raw_tp/sys_enter")
int count_enter(void *ctx)
{
	bump(0);
	return 0;
}

SEC("raw_tp/sys_exit")
int count_exit(void *ctx)
{
	bump(1);
	return 0;
}

SEC("raw_tp/sys_enter")
int count_other(void *ctx)
{
	__u32 key = 0;
	__u64 one = 1;

	bpf_map_update_elem(&other_seen, &key, &one, BPF_ANY);
	bump(2);
	return 0;
}

/* Dereferences a hash lookup result without the NULL check. */
SEC("raw_tp/sys_enter")
int bad_count(void *ctx)
{
	__u32 key = 0;
	__u64 *seen = bpf_map_lookup_elem(&other_seen, &key);

	return *seen;
}

char LICENSE[] SEC("license") = "GPL";
