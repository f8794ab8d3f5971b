// SPDX-License-Identifier: GPL-2.0
/*
 * One program the verifier accepts and one it must reject, to test error
 * reporting and that a failed program does not take its neighbours down.
 */
#include "rawload_helpers.h"

/*
 * A hash, not an array: recent kernels know that an array lookup with a
 * constant in-range key cannot return NULL and would accept bad_prog.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} invalid_values SEC(".maps");

SEC("socket")
int good_prog(struct __sk_buff *skb)
{
	return 1;
}

/* Dereferences a lookup result without the NULL check. */
SEC("socket")
int bad_prog(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u64 *val = bpf_map_lookup_elem(&invalid_values, &key);

	return *val;
}

char LICENSE[] SEC("license") = "GPL";
