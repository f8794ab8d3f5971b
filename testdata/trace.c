// SPDX-License-Identifier: GPL-2.0
/*
 * One program per attach kind that rawload run knows: raw tracepoint,
 * tracepoint, XDP and TC. The tracing programs count the syscalls of the
 * process whose tgid is target_pid, and nothing when target_pid is 0.
 */
#include "rawload_helpers.h"

int target_pid SEC(".data") = 0;

__u64 rawtp_hits;
__u64 getpid_hits;

static __always_inline int is_target(void)
{
	return target_pid && (bpf_get_current_pid_tgid() >> 32) == (__u32)target_pid;
}

SEC("raw_tracepoint/sys_enter")
int rawtp_count(void *ctx)
{
	if (is_target())
		__sync_fetch_and_add(&rawtp_hits, 1);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int tp_getpid(void *ctx)
{
	if (is_target())
		__sync_fetch_and_add(&getpid_hits, 1);
	return 0;
}

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("tc")
int tc_ok(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
