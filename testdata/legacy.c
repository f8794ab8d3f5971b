// SPDX-License-Identifier: GPL-2.0
/*
 * Maps declared the pre-BTF way: struct bpf_map_def values in SEC("maps").
 * libbpf 1.0 dropped this form, but objects built for older loaders still
 * carry it, so rawload reads it.
 */
#include "rawload_helpers.h"

struct bpf_map_def legacy_hash SEC("maps") = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 32,
};

struct bpf_map_def legacy_array SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = 4,
};

SEC("socket")
int legacy_prog(struct __sk_buff *skb)
{
	__u32 akey = 0, aval = 11, hkey = 5;
	__u64 hval = 55;

	bpf_map_update_elem(&legacy_array, &akey, &aval, BPF_ANY);
	bpf_map_update_elem(&legacy_hash, &hkey, &hval, BPF_ANY);
	return 5;
}

char LICENSE[] SEC("license") = "GPL";
