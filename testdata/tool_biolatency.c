// SPDX-License-Identifier: GPL-2.0
/*
 * In the style of a block I/O latency histogram tool (biolatency): the
 * insert or issue time of each request is kept in a hash keyed by the
 * request pointer, and at completion the latency goes into a log2
 * histogram per disk and operation. Each hook comes twice, as tp_btf (typed
 * arguments, plain loads) and raw_tp (CO-RE probe reads), as tools do for
 * kernels without BTF trampolines; a tool loads one set, this object lets
 * a loader load both. The gendisk is found through request->q->disk, or
 * through request->rq_disk on kernels before 5.17 (a "___old" flavor
 * guarded by a field-exists relocation).
 */
#include "rawload_helpers.h"
#include "rawload_core.h"

static __u64 (*bpf_ktime_get_ns)(void) = (void *)5;

#define MAX_SLOTS 27
#define REQ_OP_BITS 8
#define REQ_OP_MASK ((1 << REQ_OP_BITS) - 1)
#define MKDEV(ma, mi) ((ma) << 20 | (mi))

struct gendisk {
	int major;
	int first_minor;
} __attribute__((preserve_access_index));

struct request_queue {
	struct gendisk *disk;
} __attribute__((preserve_access_index));

struct request {
	struct request_queue *q;
	unsigned int cmd_flags;
} __attribute__((preserve_access_index));

/* The layout before 5.17. */
struct request___old {
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

struct hist_key {
	__u32 dev;
	__u32 op;
};

struct hist {
	__u32 slots[MAX_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, __u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct hist_key);
	__type(value, struct hist);
} hists SEC(".maps");

/* 0: completions without a start, 1: negative deltas, 2: hists full. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} misses SEC(".maps");

const volatile int targ_per_disk = 1;
const volatile int targ_per_flag = 1;
const volatile int targ_queued = 0;
const volatile int targ_ms = 0;
const volatile int filter_dev = 0;
const volatile __u32 targ_dev = 0;

static struct hist zero_hist;

static __always_inline void miss(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&misses, &slot);

	if (v)
		*v += 1;
}

static __always_inline __u64 log2_u64(__u64 v)
{
	__u64 r = 0;
	int i;

#pragma unroll
	for (i = 32; i > 0; i >>= 1) {
		if (v >= (1ULL << i)) {
			v >>= i;
			r += i;
		}
	}
	return r;
}

static __always_inline struct gendisk *disk_of(struct request *rq)
{
	struct request___old *old = (void *)rq;
	struct request_queue *q;

	if (bpf_core_field_exists(struct request___old, rq_disk))
		return BPF_CORE_READ(old, rq_disk);
	q = BPF_CORE_READ(rq, q);
	return BPF_CORE_READ(q, disk);
}

static __always_inline __u32 dev_of(struct gendisk *disk)
{
	if (!disk)
		return 0;
	return MKDEV(BPF_CORE_READ(disk, major), BPF_CORE_READ(disk, first_minor));
}

static __always_inline int trace_start(struct request *rq, int issue)
{
	__u64 key = (__u64)rq, ts;

	if (issue && targ_queued && BPF_CORE_READ(rq, q) != 0) {
		/* Already stamped at insert. */
		if (bpf_map_lookup_elem(&start, &key))
			return 0;
	}
	if (filter_dev && dev_of(disk_of(rq)) != targ_dev)
		return 0;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &key, &ts, BPF_ANY);
	return 0;
}

static __always_inline int trace_done(struct request *rq)
{
	__u64 key = (__u64)rq, *tsp, slot, now = bpf_ktime_get_ns();
	struct hist_key hkey = {};
	struct hist *h;
	__s64 delta;

	tsp = bpf_map_lookup_elem(&start, &key);
	if (!tsp) {
		miss(0);
		return 0;
	}
	delta = (__s64)(now - *tsp);
	if (delta < 0) {
		miss(1);
		goto out;
	}
	if (targ_per_disk)
		hkey.dev = dev_of(disk_of(rq));
	if (targ_per_flag)
		hkey.op = BPF_CORE_READ(rq, cmd_flags) & REQ_OP_MASK;
	h = bpf_map_lookup_elem(&hists, &hkey);
	if (!h) {
		if (bpf_map_update_elem(&hists, &hkey, &zero_hist, BPF_NOEXIST) && !bpf_map_lookup_elem(&hists, &hkey)) {
			miss(2);
			goto out;
		}
		h = bpf_map_lookup_elem(&hists, &hkey);
		if (!h)
			goto out;
	}
	delta /= targ_ms ? 1000000U : 1000U;
	slot = log2_u64(delta);
	if (slot >= MAX_SLOTS)
		slot = MAX_SLOTS - 1;
	__sync_fetch_and_add(&h->slots[slot], 1);
out:
	bpf_map_delete_elem(&start, &key);
	return 0;
}

SEC("tp_btf/block_rq_insert")
int biolat_btf_insert(__u64 *ctx)
{
	return trace_start((void *)ctx[0], 0);
}

SEC("tp_btf/block_rq_issue")
int biolat_btf_issue(__u64 *ctx)
{
	return trace_start((void *)ctx[0], 1);
}

SEC("tp_btf/block_rq_complete")
int biolat_btf_complete(__u64 *ctx)
{
	return trace_done((void *)ctx[0]);
}

SEC("raw_tp/block_rq_insert")
int biolat_raw_insert(__u64 *ctx)
{
	return trace_start((void *)ctx[0], 0);
}

SEC("raw_tp/block_rq_issue")
int biolat_raw_issue(__u64 *ctx)
{
	return trace_start((void *)ctx[0], 1);
}

SEC("raw_tp/block_rq_complete")
int biolat_raw_complete(__u64 *ctx)
{
	return trace_done((void *)ctx[0]);
}

char LICENSE[] SEC("license") = "GPL";
