// SPDX-License-Identifier: GPL-2.0
/*
 * Map sizes as real tools leave them to the loader: a perf event array
 * declared without max_entries (libbpf and cilium/ebpf give it one slot
 * per possible CPU), one declared with a BTF value type (the event
 * struct: cilium/ebpf forces 4-byte keys and values), a ring buffer
 * whose size is not a page-aligned power of two (libbpf rounds it up),
 * a hash whose size user space sets (max_entries 0), and a stack trace
 * map declared with a key only, whose depth (value size) user space sets.
 */
#include "rawload_helpers.h"

#define BPF_MAP_TYPE_PERF_EVENT_ARRAY 4
#define BPF_F_CURRENT_CPU 0xffffffffULL
#define BPF_MAP_TYPE_STACK_TRACE 7

static long (*get_stackid)(void *ctx, void *map, __u64 flags) = (void *)27;

static long (*perf_event_output)(void *ctx, void *map, __u64 flags, void *data, __u64 size) = (void *)25;

struct event {
	__u64 seq;
	__u64 pad[9];
	__u32 tail;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(int));
	__uint(value_size, sizeof(int));
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__type(key, int);
	__type(value, struct event);
} typed_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 5000);
} odd_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(max_entries, 64);
} stacks SEC(".maps");

/* Records the kernel stack of each syscall entry in stacks. */
SEC("raw_tp/sys_enter")
int sample_stack(void *ctx)
{
	get_stackid(ctx, &stacks, 0);
	return 0;
}

/* Outputs an event into both perf event arrays; returns 1 when both took it. */
SEC("socket")
int emit_perf(struct __sk_buff *skb)
{
	struct event e = {.seq = 1, .tail = 2};

	if (perf_event_output(skb, &events, BPF_F_CURRENT_CPU, &e, sizeof(e)))
		return 0;
	if (perf_event_output(skb, &typed_events, BPF_F_CURRENT_CPU, &e, sizeof(e)))
		return 0;
	return 1;
}

/* Outputs 8 bytes into the ring buffer; returns 2 when it took them. */
SEC("socket")
int emit_ring(struct __sk_buff *skb)
{
	__u64 v = 42;

	return bpf_ringbuf_output(&odd_ring, &v, sizeof(v), 0) ? 0 : 2;
}

/* Counts calls in conns[1] and returns the count. */
SEC("socket")
int count_conn(struct __sk_buff *skb)
{
	__u32 key = 1;
	__u64 one = 1, *n;

	n = bpf_map_lookup_elem(&conns, &key);
	if (!n) {
		bpf_map_update_elem(&conns, &key, &one, BPF_ANY);
		return 1;
	}
	__sync_fetch_and_add(n, 1);
	return *n;
}

char LICENSE[] SEC("license") = "GPL";
