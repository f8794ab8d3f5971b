// SPDX-License-Identifier: GPL-2.0
/*
 * A hidden global subprogram without CO-RE or externs, so that its BTF
 * is passed to the kernel as it is: the loader must still mark the
 * function static there. Verified as a global function, its pointer
 * argument would be nullable memory and the dereference refused; as a
 * static one it is checked within its caller, where it points to the
 * stack. Run on any packet the program returns 42.
 */
#include "rawload_helpers.h"

__attribute__((visibility("hidden"))) __noinline int add_one(int *p)
{
	return *p + 1;
}

SEC("socket")
int hidden_caller(struct __sk_buff *skb)
{
	int v = 41;

	return add_one(&v);
}

char LICENSE[] SEC("license") = "GPL";
