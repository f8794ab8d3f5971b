// SPDX-License-Identifier: GPL-2.0
/*
 * Port of libbpf's selftest progs/test_dynamicload.c (the load-type patch):
 * three identical raw tracepoint programs, each raising its own flag. Unlike
 * the original, a program only counts the process whose tgid is my_pid (0
 * means any process), so other processes' syscalls cannot set the flags.
 */
#include "rawload_helpers.h"

int prog1_called = 0;
int prog2_called = 0;
int prog3_called = 0;

int my_pid SEC(".data") = 0;

static __always_inline int is_mine(void)
{
	return !my_pid || (bpf_get_current_pid_tgid() >> 32) == (__u32)my_pid;
}

SEC("raw_tp/sys_enter")
int prog1(const void *ctx)
{
	if (!is_mine())
		return 0;
	prog1_called = 1;
	return 0;
}

SEC("raw_tp/sys_enter")
int prog2(const void *ctx)
{
	if (!is_mine())
		return 0;
	prog2_called = 1;
	return 0;
}

SEC("raw_tp/sys_enter")
int prog3(const void *ctx)
{
	if (!is_mine())
		return 0;
	prog3_called = 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
