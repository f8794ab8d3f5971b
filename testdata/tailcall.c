// SPDX-License-Identifier: GPL-2.0
/*
 * A program array filled in the object: .values holds program pointers,
 * expressed as .rel.maps relocations against the programs' symbols. The
 * loader must load the programs, then store their fds into jump_table.
 */
#include "rawload_helpers.h"

#define BPF_MAP_TYPE_PROG_ARRAY 3

static long (*bpf_tail_call)(void *ctx, void *prog_array_map, __u32 index) = (void *)12;

int tail_index SEC(".data") = 0;

/* Defined before jump_table because its initializer refers to them. */
SEC("socket")
int tail_zero(struct __sk_buff *skb)
{
	return 10;
}

SEC("socket")
int tail_two(struct __sk_buff *skb)
{
	return 12;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, sizeof(__u32));
	__array(values, int(struct __sk_buff *));
} jump_table SEC(".maps") = {
	.values = { [0] = (void *)&tail_zero, [2] = (void *)&tail_two },
};

/* A tail call does not return; falling through means the slot was empty. */
SEC("socket")
int tail_entry(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jump_table, tail_index);
	return 99;
}

char LICENSE[] SEC("license") = "GPL";
