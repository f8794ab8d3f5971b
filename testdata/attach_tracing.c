// SPDX-License-Identifier: GPL-2.0
/*
 * One program per tracing hook family that rawload attaches: tracepoint,
 * kprobe (and kretprobe, ksyscall, kretsyscall, kprobe.multi), uprobe (and
 * uretprobe, uprobe.s, uprobe.multi), usdt, iter and perf_event. Each
 * counts its runs in a global of its own, so a test proves the program
 * ran by the exact amount it expects. Kernel hooks count only the thread
 * whose tid is target_tid (0: none); uprobes and usdt count every process
 * that runs the probed code: the tests' own binaries.
 *
 * The USDT part is libbpf 1.7's usdt.bpf.h, written afresh and trimmed:
 * the real map names (__bpf_usdt_specs, __bpf_usdt_ip_to_spec_id), the
 * 24-byte argument spec with scale-index-base addressing, and the spec id
 * taken from the BPF cookie or, without cookies, from the ip.
 */
#include "rawload_helpers.h"
#include "rawload_core.h"

static __u64 (*bpf_get_attach_cookie)(void *ctx) = (void *)174;
static long (*bpf_probe_read_user)(void *dst, __u32 size, const void *unsafe_ptr) = (void *)112;
static long (*bpf_seq_printf)(void *m, const char *fmt, __u32 fmt_size,
			      const void *data, __u32 data_len) = (void *)126;
static long (*bpf_seq_write)(void *m, const void *data, __u32 len) = (void *)127;

#define ESRCH 3
#define ENOENT 2

/* x86-64's struct pt_regs, the context of kprobe, uprobe and usdt programs. */
struct pt_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8;
	unsigned long ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss;
};

__u32 target_tid;

static __always_inline int is_target(void)
{
	return target_tid && (__u32)bpf_get_current_pid_tgid() == target_tid;
}

/* tracepoint */

__u64 tp_hits;
__u64 tp_cookie;

SEC("tp/syscalls/sys_enter_getpid")
int tp_getpid_tid(void *ctx)
{
	if (!is_target())
		return 0;
	__sync_fetch_and_add(&tp_hits, 1);
	tp_cookie = bpf_get_attach_cookie(ctx);
	return 0;
}

/* kprobes: load everywhere, attach where the kernel has kprobes */

__u64 kprobe_hits;
__u64 kretprobe_hits;
__u64 ksyscall_hits;
__u64 kretsyscall_hits;
__u64 kprobe_multi_hits;
__u64 kprobe_cookie;

SEC("kprobe/do_unlinkat")
int kprobe_unlinkat(struct pt_regs *ctx)
{
	if (!is_target())
		return 0;
	__sync_fetch_and_add(&kprobe_hits, 1);
	kprobe_cookie = bpf_get_attach_cookie(ctx);
	return 0;
}

SEC("kretprobe/do_unlinkat")
int kretprobe_unlinkat(struct pt_regs *ctx)
{
	if (is_target())
		__sync_fetch_and_add(&kretprobe_hits, 1);
	return 0;
}

SEC("ksyscall/getpid")
int ksyscall_getpid(struct pt_regs *ctx)
{
	if (is_target())
		__sync_fetch_and_add(&ksyscall_hits, 1);
	return 0;
}

SEC("kretsyscall/getpid")
int kretsyscall_getpid(struct pt_regs *ctx)
{
	if (is_target())
		__sync_fetch_and_add(&kretsyscall_hits, 1);
	return 0;
}

SEC("kprobe.multi/do_unlinka*")
int kprobe_multi_unlinkat(struct pt_regs *ctx)
{
	if (is_target())
		__sync_fetch_and_add(&kprobe_multi_hits, 1);
	return 0;
}

/* uprobes: the target is given at attach time */

__u64 uprobe_hits;
__s64 uprobe_arg_sum;
__u64 uprobe_cookie;
__u64 uretprobe_hits;
__s64 uretprobe_ret_sum;
__u64 uprobe_multi_hits;
__u64 uprobe_sleepable_hits;

SEC("uprobe")
int uprobe_count(struct pt_regs *ctx)
{
	__sync_fetch_and_add(&uprobe_hits, 1);
	__sync_fetch_and_add(&uprobe_arg_sum, (int)ctx->di);
	uprobe_cookie = bpf_get_attach_cookie(ctx);
	return 0;
}

SEC("uretprobe")
int uretprobe_count(struct pt_regs *ctx)
{
	__sync_fetch_and_add(&uretprobe_hits, 1);
	__sync_fetch_and_add(&uretprobe_ret_sum, (int)ctx->ax);
	return 0;
}

SEC("uprobe.multi")
int uprobe_multi_count(struct pt_regs *ctx)
{
	__sync_fetch_and_add(&uprobe_multi_hits, 1);
	return 0;
}

SEC("uprobe.s")
int uprobe_sleepable(struct pt_regs *ctx)
{
	__sync_fetch_and_add(&uprobe_sleepable_hits, 1);
	return 0;
}

/* usdt: libbpf 1.7's specs */

enum __bpf_usdt_arg_type {
	BPF_USDT_ARG_CONST,
	BPF_USDT_ARG_REG,
	BPF_USDT_ARG_REG_DEREF,
	BPF_USDT_ARG_SIB,
};

struct __bpf_usdt_arg_spec {
	__u64 val_off;
	enum __bpf_usdt_arg_type arg_type : 8;
	__u16 idx_reg_off : 12;
	__u16 scale_bitshift : 4;
	__u8 __reserved : 8;
	short reg_off;
	_Bool arg_signed;
	char arg_bitshift;
};

#define BPF_USDT_MAX_ARG_CNT 12
struct __bpf_usdt_spec {
	struct __bpf_usdt_arg_spec args[BPF_USDT_MAX_ARG_CNT];
	__u64 usdt_cookie;
	short arg_cnt;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, int);
	__type(value, struct __bpf_usdt_spec);
} __bpf_usdt_specs SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, long);
	__type(value, __u32);
} __bpf_usdt_ip_to_spec_id SEC(".maps") __weak;

extern const _Bool LINUX_HAS_BPF_COOKIE __kconfig;

static __always_inline int usdt_spec_id(struct pt_regs *ctx)
{
	if (!LINUX_HAS_BPF_COOKIE) {
		long ip = ctx->ip;
		int *id = bpf_map_lookup_elem(&__bpf_usdt_ip_to_spec_id, &ip);

		return id ? *id : -ESRCH;
	}
	return bpf_get_attach_cookie(ctx);
}

static __always_inline struct __bpf_usdt_spec *usdt_spec(struct pt_regs *ctx)
{
	int id = usdt_spec_id(ctx);

	if (id < 0)
		return NULL;
	return bpf_map_lookup_elem(&__bpf_usdt_specs, &id);
}

/* Argument n into *res, as usdt.bpf.h's bpf_usdt_arg; 0 or -errno. */
static __always_inline int usdt_arg(struct pt_regs *ctx, struct __bpf_usdt_spec *spec,
				    __u64 n, long *res)
{
	struct __bpf_usdt_arg_spec *arg;
	unsigned long val, idx;
	int err;

	*res = 0;
	if (n >= BPF_USDT_MAX_ARG_CNT || n >= (__u64)spec->arg_cnt)
		return -ENOENT;
	arg = &spec->args[n];
	switch (arg->arg_type) {
	case BPF_USDT_ARG_CONST:
		val = arg->val_off;
		break;
	case BPF_USDT_ARG_REG:
		err = bpf_probe_read_kernel(&val, sizeof(val), (void *)ctx + arg->reg_off);
		if (err)
			return err;
		break;
	case BPF_USDT_ARG_REG_DEREF:
		err = bpf_probe_read_kernel(&val, sizeof(val), (void *)ctx + arg->reg_off);
		if (err)
			return err;
		err = bpf_probe_read_user(&val, sizeof(val), (void *)val + arg->val_off);
		if (err)
			return err;
		break;
	case BPF_USDT_ARG_SIB:
		err = bpf_probe_read_kernel(&val, sizeof(val), (void *)ctx + arg->reg_off);
		if (err)
			return err;
		err = bpf_probe_read_kernel(&idx, sizeof(idx), (void *)ctx + arg->idx_reg_off);
		if (err)
			return err;
		err = bpf_probe_read_user(&val, sizeof(val),
					  (void *)(val + (idx << arg->scale_bitshift) + arg->val_off));
		if (err)
			return err;
		break;
	default:
		return -22;
	}
	val <<= arg->arg_bitshift;
	if (arg->arg_signed)
		val = ((long)val) >> arg->arg_bitshift;
	else
		val = val >> arg->arg_bitshift;
	*res = val;
	return 0;
}

__u64 usdt_hits;
__u64 usdt_arg_cnt;
__u64 usdt_cookie;
__s64 usdt_arg_sum[5];
__u64 usdt_arg_errors;
__u64 usdt_gated_hits;

static __always_inline void usdt_add(struct pt_regs *ctx, struct __bpf_usdt_spec *spec, int n)
{
	long v;

	if (n >= spec->arg_cnt)
		return;
	if (usdt_arg(ctx, spec, n, &v))
		__sync_fetch_and_add(&usdt_arg_errors, 1);
	else
		__sync_fetch_and_add(&usdt_arg_sum[n], v);
}

SEC("usdt")
int usdt_hit(struct pt_regs *ctx)
{
	struct __bpf_usdt_spec *spec;

	__sync_fetch_and_add(&usdt_hits, 1);
	spec = usdt_spec(ctx);
	if (!spec) {
		__sync_fetch_and_add(&usdt_arg_errors, 1);
		return 0;
	}
	usdt_arg_cnt = spec->arg_cnt;
	usdt_cookie = spec->usdt_cookie;
	usdt_add(ctx, spec, 0);
	usdt_add(ctx, spec, 1);
	usdt_add(ctx, spec, 2);
	usdt_add(ctx, spec, 3);
	usdt_add(ctx, spec, 4);
	return 0;
}

SEC("usdt")
int usdt_gated(struct pt_regs *ctx)
{
	__sync_fetch_and_add(&usdt_gated_hits, 1);
	return 0;
}

/* iterators */

struct seq_file;

struct bpf_iter_meta {
	struct seq_file *seq;
} __attribute__((preserve_access_index));

struct bpf_map {
	__u32 id;
} __attribute__((preserve_access_index));

struct task_struct {
	int pid;
	int tgid;
} __attribute__((preserve_access_index));

struct bpf_iter__bpf_map {
	struct bpf_iter_meta *meta;
	struct bpf_map *map;
} __attribute__((preserve_access_index));

struct bpf_iter__task {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
} __attribute__((preserve_access_index));

struct bpf_iter__bpf_map_elem {
	struct bpf_iter_meta *meta;
	struct bpf_map *map;
	void *key;
	void *value;
} __attribute__((preserve_access_index));

/* What iter_elems walks when the test passes it as the link's map. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} iter_values SEC(".maps");

/* One line "map <id>" per map of the system. */
SEC("iter/bpf_map")
int iter_maps(struct bpf_iter__bpf_map *ctx)
{
	static const char fmt[] = "map %u\n";
	struct bpf_map *map = ctx->map;
	__u64 id;

	if (!map)
		return 0;
	id = map->id;
	bpf_seq_printf(ctx->meta->seq, fmt, sizeof(fmt), &id, sizeof(id));
	return 0;
}

/* One line "<tgid> <tid>" per task the link walks. */
SEC("iter/task")
int iter_tasks(struct bpf_iter__task *ctx)
{
	static const char fmt[] = "%d %d\n";
	struct task_struct *task = ctx->task;
	__u64 args[2];

	if (!task)
		return 0;
	args[0] = task->tgid;
	args[1] = task->pid;
	bpf_seq_printf(ctx->meta->seq, fmt, sizeof(fmt), args, sizeof(args));
	return 0;
}

/* The raw 8-byte value of each element of the link's map. */
SEC("?iter/bpf_map_elem")
int iter_elems(struct bpf_iter__bpf_map_elem *ctx)
{
	__u64 *value = ctx->value;
	__u64 v;

	if (!ctx->key || !value)
		return 0;
	v = *value;
	bpf_seq_write(ctx->meta->seq, &v, sizeof(v));
	return 0;
}

/* perf_event */

__u64 perf_hits;

SEC("perf_event")
int perf_count(void *ctx)
{
	__sync_fetch_and_add(&perf_hits, 1);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
