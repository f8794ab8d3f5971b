// SPDX-License-Identifier: GPL-2.0
/*
 * Maps of maps with their slots filled in the object: .values holds
 * pointers to other maps, which the ELF expresses as relocations in
 * .rel.maps. The loader creates the inner maps first and stores their fds
 * into the outer maps before any program runs.
 */
#include "rawload_helpers.h"

#define BPF_MAP_TYPE_ARRAY_OF_MAPS 12
#define BPF_MAP_TYPE_HASH_OF_MAPS 13

/* Named so that the outer maps can use it as their inner map template. */
struct inner_def {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
};

struct inner_def inner_a SEC(".maps");
struct inner_def inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, 4);
	__array(values, struct inner_def);
} outer_array SEC(".maps") = {
	.values = { [0] = &inner_a, [1] = &inner_b },
};

/* For a hash of maps the array index is the key: only key 3 exists. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, 8);
	__array(values, struct inner_def);
} outer_hash SEC(".maps") = {
	.values = { [3] = &inner_b },
};

/* Writes val into slot 0 of the map in outer_array[idx]; 1 on success. */
static __always_inline int write_inner(__u32 idx, __u32 val)
{
	__u32 zero = 0;
	void *inner = bpf_map_lookup_elem(&outer_array, &idx);

	if (!inner)
		return 0;
	return bpf_map_update_elem(inner, &zero, &val, BPF_ANY) == 0;
}

SEC("socket")
int mim_prog(struct __sk_buff *skb)
{
	return write_inner(0, 100) + write_inner(1, 200);
}

/* Adds 1 to slot 0 of the map at outer_hash[3]; 1 if it was there. */
SEC("socket")
int mim_hash(struct __sk_buff *skb)
{
	__u32 key = 3, zero = 0;
	__u32 *val;
	void *inner;

	inner = bpf_map_lookup_elem(&outer_hash, &key);
	if (!inner)
		return 0;
	val = bpf_map_lookup_elem(inner, &zero);
	if (!val)
		return 0;
	__sync_fetch_and_add(val, 1);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
