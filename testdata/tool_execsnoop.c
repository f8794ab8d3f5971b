// SPDX-License-Identifier: GPL-2.0
/*
 * In the style of an exec tracer (execsnoop): the arguments of execve are
 * collected at syscall entry into a hash keyed by tgid, sent to user space
 * at exit through a perf event array, and the exec and exit of processes
 * are reported through a ring buffer. task_struct and cred are read with
 * CO-RE (preserve_access_index fragments, no vmlinux.h).
 */
#include "rawload_helpers.h"
#include "rawload_core.h"

#define BPF_MAP_TYPE_PERF_EVENT_ARRAY 4
#define BPF_F_CURRENT_CPU 0xffffffffULL

static __u64 (*bpf_ktime_get_ns)(void) = (void *)5;
static __u64 (*bpf_get_current_uid_gid)(void) = (void *)15;
static long (*bpf_get_current_comm)(void *buf, __u32 size) = (void *)16;
static long (*bpf_perf_event_output)(void *ctx, void *map, __u64 flags, void *data, __u64 size) = (void *)25;
static long (*bpf_probe_read_user)(void *dst, __u32 size, const void *unsafe_ptr) = (void *)112;
static long (*bpf_probe_read_user_str)(void *dst, __u32 size, const void *unsafe_ptr) = (void *)114;
static long (*bpf_probe_read_kernel_str)(void *dst, __u32 size, const void *unsafe_ptr) = (void *)115;

#define TASK_COMM_LEN 16
#define ARGSIZE 128
#define MAX_ARGS 10
#define FULL_ARGS (MAX_ARGS * ARGSIZE)
#define LAST_ARG (FULL_ARGS - ARGSIZE)

typedef struct {
	unsigned int val;
} kuid_t;

struct cred {
	kuid_t uid;
} __attribute__((preserve_access_index));

struct task_struct {
	int pid;
	int tgid;
	int exit_code;
	char comm[TASK_COMM_LEN];
	struct task_struct *real_parent;
	struct cred *real_cred;
} __attribute__((preserve_access_index));

struct linux_binprm {
	const char *filename;
} __attribute__((preserve_access_index));

/* The fixed layout of the syscalls tracepoints (not in BTF). */
struct syscall_enter_ctx {
	__u64 common;
	int syscall_nr;
	unsigned long args[6];
};

struct syscall_exit_ctx {
	__u64 common;
	int syscall_nr;
	long ret;
};

struct exec_event {
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	int retval;
	int args_count;
	unsigned int args_size;
	char comm[TASK_COMM_LEN];
	char args[FULL_ARGS];
};

struct proc_event {
	__u32 kind; /* 1 exec, 2 exit */
	__u32 pid;
	__u32 ppid;
	int exit_code;
	__u64 ts;
	char comm[TASK_COMM_LEN];
	char filename[64];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct exec_event);
} execs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_event);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} procs SEC(".maps");

/* 0: execs seen, 1: sent, 2: ring buffer full, 3: exits. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

const volatile __u32 targ_uid = (__u32)-1;
const volatile int ignore_failed = 1;
const volatile int max_args = MAX_ARGS;

__u64 dropped;

static __always_inline void count(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &slot);

	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("tracepoint/syscalls/sys_enter_execve")
int execsnoop_enter(struct syscall_enter_ctx *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, zero = 0;
	__u32 uid = (__u32)bpf_get_current_uid_gid();
	struct task_struct *task, *parent;
	struct cred *cred;
	const char **argv = (const char **)ctx->args[1];
	struct exec_event *e, *empty;
	const char *argp;
	long ret;
	int i;

	if (targ_uid != (__u32)-1 && targ_uid != uid)
		return 0;
	empty = bpf_map_lookup_elem(&scratch, &zero);
	if (!empty)
		return 0;
	if (bpf_map_update_elem(&execs, &tgid, empty, BPF_NOEXIST))
		return 0;
	e = bpf_map_lookup_elem(&execs, &tgid);
	if (!e)
		return 0;

	task = (void *)bpf_get_current_task();
	parent = BPF_CORE_READ(task, real_parent);
	cred = BPF_CORE_READ(task, real_cred);
	e->pid = tgid;
	e->ppid = BPF_CORE_READ(parent, tgid);
	e->uid = BPF_CORE_READ(cred, uid.val);
	e->args_count = 0;
	e->args_size = 0;

	ret = bpf_probe_read_user_str(e->args, ARGSIZE, (const char *)ctx->args[0]);
	if (ret >= 0 && ret <= ARGSIZE) {
		e->args_size = ret;
	} else {
		e->args[0] = '\0';
		e->args_size++;
	}
	e->args_count++;
	count(0);

#pragma unroll
	for (i = 1; i < MAX_ARGS; i++) {
		unsigned int size;

		if (i >= max_args)
			break;
		if (bpf_probe_read_user(&argp, sizeof(argp), &argv[i]) || !argp)
			return 0;
		size = e->args_size;
		if (size > LAST_ARG)
			return 0;
		ret = bpf_probe_read_user_str(&e->args[size], ARGSIZE, argp);
		if (ret < 0 || ret > ARGSIZE)
			return 0;
		e->args_count++;
		e->args_size += ret;
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int execsnoop_exit(struct syscall_exit_ctx *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct exec_event *e;
	unsigned int size;

	e = bpf_map_lookup_elem(&execs, &tgid);
	if (!e)
		return 0;
	if (ignore_failed && ctx->ret < 0)
		goto out;
	e->retval = ctx->ret;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	size = __builtin_offsetof(struct exec_event, args) + e->args_size;
	if (size <= sizeof(*e))
		bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, e, size);
	count(1);
out:
	bpf_map_delete_elem(&execs, &tgid);
	return 0;
}

/* tp_btf: the task and the binprm come typed, read with plain loads. */
SEC("tp_btf/sched_process_exec")
int execsnoop_exec(__u64 *ctx)
{
	struct task_struct *p = (void *)ctx[0];
	struct linux_binprm *bprm = (void *)ctx[2];
	struct proc_event *e;

	e = bpf_ringbuf_reserve(&procs, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&dropped, 1);
		count(2);
		return 0;
	}
	e->kind = 1;
	e->pid = p->tgid;
	e->ppid = p->real_parent->tgid;
	e->exit_code = 0;
	e->ts = bpf_ktime_get_ns();
	__builtin_memcpy(e->comm, p->comm, sizeof(e->comm));
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), bprm->filename);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* raw_tp: an untyped task pointer, every hop a CO-RE probe read. */
SEC("raw_tp/sched_process_exit")
int execsnoop_process_exit(__u64 *ctx)
{
	struct task_struct *p = (void *)ctx[0];
	struct task_struct *parent;
	struct proc_event *e;
	int pid, tgid;

	pid = BPF_CORE_READ(p, pid);
	tgid = BPF_CORE_READ(p, tgid);
	if (pid != tgid)
		return 0;
	bpf_map_delete_elem(&execs, &tgid);
	count(3);
	e = bpf_ringbuf_reserve(&procs, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&dropped, 1);
		count(2);
		return 0;
	}
	parent = BPF_CORE_READ(p, real_parent);
	e->kind = 2;
	e->pid = tgid;
	e->ppid = BPF_CORE_READ(parent, tgid);
	e->exit_code = BPF_CORE_READ(p, exit_code) >> 8;
	e->ts = bpf_ktime_get_ns();
	BPF_CORE_READ_INTO(&e->comm, p, comm);
	e->filename[0] = '\0';
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
