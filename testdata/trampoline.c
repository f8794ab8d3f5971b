// SPDX-License-Identifier: GPL-2.0
/*
 * One program per BTF-attached kind: the loader must find each target in
 * vmlinux BTF and pass its id as attach_btf_id (plus expected_attach_type).
 * fentry/fexit/fmod_ret/lsm need BPF trampolines; iter and tp_btf do not.
 * Every program returns 0 (fmod_ret: 0 keeps the original return value).
 */
#include "rawload_helpers.h"
#include "rawload_core.h"

static long (*bpf_seq_printf)(void *m, const char *fmt, __u32 fmt_size,
			      const void *data, __u32 data_len) = (void *)126;

struct seq_file;

/* The kernel wraps both members in __bpf_md_ptr unions; CO-RE sees through them. */
struct bpf_iter_meta {
	struct seq_file *seq;
} __attribute__((preserve_access_index));

struct task_struct {
	int pid;
} __attribute__((preserve_access_index));

struct bpf_iter__task {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
} __attribute__((preserve_access_index));

__u64 sched_switch_hits;

/* Target: FUNC do_unlinkat(int dfd, struct filename *name). */
SEC("fentry/do_unlinkat")
int fentry_prog(__u64 *ctx)
{
	return 0;
}

SEC("fexit/do_unlinkat")
int fexit_prog(__u64 *ctx)
{
	return 0;
}

/* bpf_modify_return_test is in the error-injection list for this purpose. */
SEC("fmod_ret/bpf_modify_return_test")
int fmod_ret_prog(__u64 *ctx)
{
	return 0;
}

/* Target: FUNC bpf_lsm_file_open; 0 allows the open. */
SEC("lsm/file_open")
int lsm_prog(__u64 *ctx)
{
	return 0;
}

/* Target: FUNC bpf_iter_task. Prints one "<tid>\n" line per task. */
SEC("iter/task")
int iter_prog(struct bpf_iter__task *ctx)
{
	/* static const: the loader must supply .rodata (a section symbol relocation). */
	static const char fmt[] = "%d\n";
	struct task_struct *task = ctx->task;
	__u64 arg;

	/* The final call, after the last task, passes task == NULL. */
	if (!task)
		return 0;
	arg = task->pid;
	bpf_seq_printf(ctx->meta->seq, fmt, sizeof(fmt), &arg, sizeof(arg));
	return 0;
}

/* Target: TYPEDEF btf_trace_sched_switch. Counts context switches. */
SEC("tp_btf/sched_switch")
int tpbtf_prog(__u64 *ctx)
{
	__sync_fetch_and_add(&sched_switch_hits, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
