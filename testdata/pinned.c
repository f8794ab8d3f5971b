// SPDX-License-Identifier: GPL-2.0
/*
 * A map pinned by name (LIBBPF_PIN_BY_NAME): two objects opened with the
 * same pin directory share it.
 */
#include "rawload_helpers.h"

#define LIBBPF_PIN_BY_NAME 1

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 16);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pinned_counts SEC(".maps");

/* Adds 1 to pinned_counts[1] and returns the new value. */
SEC("socket")
int pin_bump(struct __sk_buff *skb)
{
	__u32 key = 1;
	__u64 one = 1, *val;

	val = bpf_map_lookup_elem(&pinned_counts, &key);
	if (!val) {
		bpf_map_update_elem(&pinned_counts, &key, &one, BPF_NOEXIST);
		return 1;
	}
	__sync_fetch_and_add(val, 1);
	return *val;
}

char LICENSE[] SEC("license") = "GPL";
