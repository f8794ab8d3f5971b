// SPDX-License-Identifier: GPL-2.0
/*
 * The pattern of libbpf's usdt.bpf.h, written afresh: weak spec maps that
 * user space fills when it attaches, LINUX_HAS_BPF_COOKIE choosing between
 * the attach cookie and an ip-to-spec lookup, and argument helpers that
 * are global but hidden functions. libbpf verifies a hidden global
 * function as part of its caller (it marks its BTF static); verified on
 * its own, the verifier would see its ctx argument as nullable memory.
 */
#include "rawload_helpers.h"
#include "rawload_core.h"

#define __hidden __attribute__((visibility("hidden")))
#define USDT_MAX_SPECS 256
#define USDT_MAX_IPS (4 * USDT_MAX_SPECS)
#define ESRCH 3

static __u64 (*bpf_get_attach_cookie)(void *ctx) = (void *)174;

/* x86-64's struct pt_regs, the context of kprobe and uprobe programs. */
struct pt_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8;
	unsigned long ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss;
};

struct usdt_arg {
	__u64 val_off;
	__u32 arg_type;
	short reg_off;
	_Bool arg_signed;
	char arg_bitshift;
};

struct usdt_spec {
	struct usdt_arg args[12];
	__u64 usdt_cookie;
	short arg_cnt;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, USDT_MAX_SPECS);
	__type(key, int);
	__type(value, struct usdt_spec);
} usdt_specs SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, USDT_MAX_IPS);
	__type(key, long);
	__type(value, __u32);
} usdt_ip_to_spec_id SEC(".maps") __weak;

extern const _Bool LINUX_HAS_BPF_COOKIE __kconfig;

__u64 usdt_calls SEC(".data") = 0;

static __always_inline int usdt_spec_id(struct pt_regs *ctx)
{
	if (!LINUX_HAS_BPF_COOKIE) {
		long ip = ctx->ip;
		int *id = bpf_map_lookup_elem(&usdt_ip_to_spec_id, &ip);

		return id ? *id : -ESRCH;
	}
	return bpf_get_attach_cookie(ctx);
}

/* The number of arguments of the probe being hit, or -ESRCH. */
__weak __hidden int usdt_arg_cnt(struct pt_regs *ctx)
{
	struct usdt_spec *spec;
	int id;

	id = usdt_spec_id(ctx);
	if (id < 0)
		return -ESRCH;
	spec = bpf_map_lookup_elem(&usdt_specs, &id);
	if (!spec)
		return -ESRCH;
	return spec->arg_cnt;
}

/* The probe's cookie, or 0. */
__weak __hidden long usdt_cookie(struct pt_regs *ctx)
{
	struct usdt_spec *spec;
	int id;

	id = usdt_spec_id(ctx);
	if (id < 0)
		return 0;
	spec = bpf_map_lookup_elem(&usdt_specs, &id);
	if (!spec)
		return 0;
	return spec->usdt_cookie;
}

/*
 * Argument n of the probe into *res: 0, or -ESRCH with *res zeroed. res
 * is written without a NULL check, as usdt.bpf.h does: fine where the
 * caller passes its stack, refused in a function verified on its own.
 */
__weak __hidden int usdt_arg(struct pt_regs *ctx, __u64 n, long *res)
{
	struct usdt_spec *spec;
	int id;

	*res = 0;
	id = usdt_spec_id(ctx);
	if (id < 0)
		return -ESRCH;
	spec = bpf_map_lookup_elem(&usdt_specs, &id);
	if (!spec || n >= 12 || n >= (__u64)spec->arg_cnt)
		return -ESRCH;
	*res = spec->args[n].val_off;
	return 0;
}

SEC("usdt")
int usdt_probe(struct pt_regs *ctx)
{
	long arg0;

	__sync_fetch_and_add(&usdt_calls, 1);
	if (usdt_arg_cnt(ctx) < 0)
		return 0;
	if (usdt_arg(ctx, 0, &arg0))
		return 0;
	return arg0 + (usdt_cookie(ctx) != 0);
}

char LICENSE[] SEC("license") = "GPL";
