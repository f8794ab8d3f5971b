// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz seed: the other paths, small. A legacy map, a map of maps and a
 * program array with initial values, .data and .rodata, a bpf_loop
 * callback, a global function and a kfunc call.
 */
#include "rawload_helpers.h"
#include "rawload_core.h"

struct bpf_map_def SEC("maps") lm = {
	.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 1,
};

struct in {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, int);
	__type(value, int);
	__uint(max_entries, 1);
} i SEC(".maps");

struct {
	__uint(type, 12);
	__type(key, int);
	__uint(max_entries, 1);
	__array(values, struct in);
} o SEC(".maps") = { .values = { &i } };

int t(void *ctx);

struct {
	__uint(type, 3);
	__uint(key_size, 4);
	__uint(max_entries, 1);
	__array(values, int (void *));
} pa SEC(".maps") = { .values = { &t } };

int d = 1;
const volatile int r = 2;
extern void bpf_rcu_read_lock(void) __ksym;

static int cb(__u32 n, void *c) { return 0; }

__noinline int gf(int x) { return x + d; }

SEC("socket")
int t(void *ctx)
{
	bpf_rcu_read_lock();
	bpf_loop(1, cb, 0, 0);
	return gf(r) + (long)bpf_map_lookup_elem(&lm, &d) + (long)bpf_map_lookup_elem(&o, &d);
}

char _license[] SEC("license") = "GPL";
