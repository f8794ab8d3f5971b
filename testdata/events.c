// SPDX-License-Identifier: GPL-2.0
/*
 * Events for the ring buffer and perf event array readers. On every entry
 * to the syscall target_syscall (getppid) by the process whose tgid is
 * target_pid, emit_event numbers the call with a global counter and sends
 * that record to both events_rb and events_perf. Every discard_every-th
 * record is reserved in the ring buffer and then discarded, so a reader
 * must skip it; the perf event array gets every record. Outputs the kernel
 * refused are counted, so a test can tell a record the kernel dropped from
 * one its reader missed.
 */
#include "rawload_helpers.h"

/* Not in rawload_helpers.h: only this object uses them. */
#define BPF_MAP_TYPE_PERF_EVENT_ARRAY 4
#define BPF_F_CURRENT_CPU 0xffffffffULL
static __u32 (*bpf_get_smp_processor_id)(void) = (void *)8;
static long (*bpf_perf_event_output)(void *ctx, void *map, __u64 flags, void *data, __u64 size) = (void *)25;

struct bpf_raw_tracepoint_args {
	__u64 args[0];
};

/* What both maps carry; 16 bytes, so a ring buffer record is 24. */
struct event {
	__u64 seq;
	__u32 tgid;
	__u32 cpu;
};

/* 16 KiB: the 1000 records of a test wrap around it. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024);
} events_rb SEC(".maps");

/* The common idiom: no max_entries, the loader sizes it to the CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(int));
	__uint(value_size, sizeof(int));
} events_perf SEC(".maps");

/* Set by user space before load; 0 emits nothing. */
const volatile int target_pid = 0;
/* __NR_getppid of x86_64; other architectures set their own. */
const volatile long target_syscall = 110;
/* 0 discards nothing. */
const volatile __u64 discard_every = 5;

__u64 seq;
__u64 rb_drops;
__u64 perf_drops;

SEC("raw_tp/sys_enter")
int emit_event(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct event e;

	if (!target_pid || (id >> 32) != (__u32)target_pid)
		return 0;
	/* sys_enter's arguments: struct pt_regs *regs, long id. */
	if ((long)ctx->args[1] != target_syscall)
		return 0;

	e.seq = __sync_fetch_and_add(&seq, 1) + 1;
	e.tgid = id >> 32;
	e.cpu = bpf_get_smp_processor_id();

	if (discard_every && e.seq % discard_every == 0) {
		struct event *r = bpf_ringbuf_reserve(&events_rb, sizeof(*r), 0);

		if (r) {
			*r = e;
			bpf_ringbuf_discard(r, 0);
		} else {
			__sync_fetch_and_add(&rb_drops, 1);
		}
	} else if (bpf_ringbuf_output(&events_rb, &e, sizeof(e), 0)) {
		__sync_fetch_and_add(&rb_drops, 1);
	}

	if (bpf_perf_event_output(ctx, &events_perf, BPF_F_CURRENT_CPU, &e, sizeof(e)))
		__sync_fetch_and_add(&perf_drops, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
