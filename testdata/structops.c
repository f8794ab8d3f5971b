// SPDX-License-Identifier: GPL-2.0
/*
 * A TCP congestion control written as struct_ops, the way tools do it
 * (tcp_congestion_ops in a .struct_ops.link section, libbpf 1.2+), plus a
 * legacy .struct_ops map registered by updating its value, and one
 * struct_ops program no map uses (libbpf leaves such a program unloaded).
 *
 * The struct lists only the members the object sets; the loader matches
 * them to the kernel's tcp_congestion_ops by name, and name[] is copied
 * into the kernel's layout as data.
 */
#include "rawload_helpers.h"

struct sock;

struct tcp_congestion_ops {
	__u32 (*ssthresh)(struct sock *sk);
	void (*cong_avoid)(struct sock *sk, __u32 ack, __u32 acked);
	__u32 (*undo_cwnd)(struct sock *sk);
	void (*init)(struct sock *sk);
	__u32 flags;
	char name[16];
};

__u64 calls;

SEC("struct_ops/rl_ssthresh")
__u32 rl_ssthresh(unsigned long long *ctx)
{
	__sync_fetch_and_add(&calls, 1);
	return 2;
}

SEC("struct_ops/rl_cong_avoid")
void rl_cong_avoid(unsigned long long *ctx)
{
	__sync_fetch_and_add(&calls, 1);
}

SEC("struct_ops/rl_undo_cwnd")
__u32 rl_undo_cwnd(unsigned long long *ctx)
{
	return 10;
}

SEC("struct_ops/rl_init")
void rl_init(unsigned long long *ctx)
{
	__sync_fetch_and_add(&calls, 1);
}

SEC("struct_ops/rl_unused")
void rl_unused(unsigned long long *ctx)
{
}

SEC(".struct_ops.link")
struct tcp_congestion_ops rawload_cc = {
	.ssthresh = (void *)rl_ssthresh,
	.cong_avoid = (void *)rl_cong_avoid,
	.undo_cwnd = (void *)rl_undo_cwnd,
	.init = (void *)rl_init,
	.name = "rawload_cc",
};

SEC(".struct_ops")
struct tcp_congestion_ops rawload_cc_legacy = {
	.ssthresh = (void *)rl_ssthresh,
	.cong_avoid = (void *)rl_cong_avoid,
	.undo_cwnd = (void *)rl_undo_cwnd,
	.name = "rawload_cc_old",
};

char LICENSE[] SEC("license") = "GPL";
