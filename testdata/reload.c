// SPDX-License-Identifier: GPL-2.0
/*
 * A sequence-numbered event source for gapless reload tests: the test
 * calls close(SEQ_BASE + n) for n = 0, 1, 2... (each fails with EBADF),
 * and seen_close marks every n the program saw at sys_enter. A reload
 * that left the hook empty for a moment would leave an n unmarked.
 */
#include "rawload_helpers.h"

#define BPF_MAP_TYPE_ARRAY 2
#define NR_CLOSE 3 /* x86-64 */
#define SEQ_BASE 1000000
#define SEQ_MAX 65536

static long (*bpf_probe_read_kernel)(void *dst, __u32 size, const void *src) = (void *)113;

struct bpf_raw_tracepoint_args {
	__u64 args[0];
};

/* The start of x86-64's struct pt_regs, up to di: the first argument. */
struct pt_regs_head {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8;
	unsigned long ax, cx, dx, si, di;
};

int target_pid SEC(".data") = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u8);
	__uint(max_entries, SEQ_MAX);
} seen_close SEC(".maps");

SEC("raw_tp/sys_enter")
int mark_close(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs_head *regs = (void *)ctx->args[0];
	unsigned long fd = 0;
	__u32 n;
	__u8 one = 1;

	if (!target_pid || (bpf_get_current_pid_tgid() >> 32) != (__u32)target_pid)
		return 0;
	if (ctx->args[1] != NR_CLOSE)
		return 0;
	bpf_probe_read_kernel(&fd, sizeof(fd), &regs->di);
	if (fd < SEQ_BASE || fd >= SEQ_BASE + SEQ_MAX)
		return 0;
	n = fd - SEQ_BASE;
	bpf_map_update_elem(&seen_close, &n, &one, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
