// SPDX-License-Identifier: GPL-2.0
/*
 * The main fixture: BTF-defined maps of several types, every kind of global
 * data section, static and global subprograms shared between programs, and
 * a bpf_loop callback. Each program returns a fixed value under
 * BPF_PROG_TEST_RUN; README.md lists what each one leaves in the maps.
 */
#include "rawload_helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 8);
} results SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} percpu_hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 16);
} recent SEC(".maps");

__u64 data_counter = 7;
const volatile __u32 rodata_magic = 0x1234;
__u64 bss_hits;
__u64 str_len_seen;
__u32 extra_val SEC(".data.extra") = 5;

static __always_inline void set_result(__u32 idx, __u64 val)
{
	__u64 *slot = bpf_map_lookup_elem(&results, &idx);

	if (slot)
		*slot = val;
}

static __noinline int bump(__u32 key, __u64 by)
{
	__u64 *val = bpf_map_lookup_elem(&counts, &key);

	if (val) {
		__sync_fetch_and_add(val, by);
		return 0;
	}
	bpf_map_update_elem(&counts, &key, &by, BPF_NOEXIST);
	return 0;
}

__noinline int global_double(int x)
{
	return x * 2;
}

static long sum_cb(__u64 index, void *ctx)
{
	*(__u64 *)ctx += index;
	return 0;
}

/*
 * The loop stops at max so that it stays inside the string's map value even
 * when a loader does not freeze .rodata.str1.1 (then the verifier cannot
 * read the bytes and must walk every iteration).
 */
static __noinline __u64 my_strlen(const char *s, __u64 max)
{
	__u64 i;

	for (i = 0; i < max; i++)
		if (!s[i])
			break;
	return i;
}

SEC("socket")
int prog_counter(struct __sk_buff *skb)
{
	bump(1, 1);
	bss_hits += 1;
	set_result(0, data_counter);
	data_counter += 1;
	return 1;
}

SEC("socket")
int prog_loop(struct __sk_buff *skb)
{
	__u64 sum = 0;

	bump(2, 1);
	bpf_loop(10, sum_cb, &sum, 0);
	set_result(1, sum);
	return global_double(21);
}

SEC("socket")
int prog_maps(struct __sk_buff *skb)
{
	__u32 key = 3, lru_val = 33, zero = 0;
	__u64 *ev, *hits;

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev)
		return 0;
	*ev = 0xdeadbeef;
	bpf_ringbuf_submit(ev, 0);

	bpf_map_update_elem(&recent, &key, &lru_val, BPF_ANY);

	hits = bpf_map_lookup_elem(&percpu_hits, &zero);
	if (hits)
		*hits += 1;

	set_result(2, rodata_magic);
	set_result(3, extra_val);
	return 3;
}

#define RAWLOAD_STR "rawload"

SEC("socket")
int prog_string(struct __sk_buff *skb)
{
	const char *s = RAWLOAD_STR;

	/* Hide the literal from clang, which would otherwise fold the call to 7. */
	asm volatile("" : "+r"(s));
	str_len_seen = my_strlen(s, sizeof(RAWLOAD_STR));
	set_result(4, str_len_seen);
	bump(4, 1);
	return 4;
}

char LICENSE[] SEC("license") = "GPL";
