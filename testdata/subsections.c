// SPDX-License-Identifier: GPL-2.0
/*
 * Functions in sections that name no program type, as some objects put
 * their helpers: a static function in section "helpers" and a global one
 * in "lib". Programs call them, so they are subprograms, not programs of
 * an unknown kind; cilium/ebpf loads such objects, and so must rawload.
 * And a program whose section starts with '?', which libbpf does not load
 * unless asked.
 */
#include "rawload_helpers.h"

static __noinline __attribute__((section("helpers"))) int minus_one(__u32 x)
{
	return x - 1;
}

__noinline __attribute__((section("lib"))) int plus_two(__u32 x)
{
	return x + 2;
}

__noinline int both(__u32 x)
{
	return minus_one(x) + plus_two(x);
}

/* Returns (5 - 1) + (5 + 2) + (5 - 1) = 15. */
SEC("socket")
int sub_sections(struct __sk_buff *skb)
{
	return both(5) + minus_one(5);
}

/* Not loaded unless asked for: libbpf's '?' prefix. Returns 7. */
SEC("?socket")
int optional_prog(struct __sk_buff *skb)
{
	return 7;
}

char LICENSE[] SEC("license") = "GPL";
