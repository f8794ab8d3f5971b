// SPDX-License-Identifier: GPL-2.0
/* Fuzz seed: one of each thing the relocator links, in few bytes. */
#include "rawload_helpers.h"
#include "rawload_core.h"

struct task_struct {
	int pid;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, int);
	__type(value, long);
	__uint(max_entries, 1);
} m SEC(".maps");

long g;
extern const int cpu_number __ksym __weak;
extern int CONFIG_HZ __kconfig __weak;

static __noinline int sub(int x) { return x + g; }

SEC("socket")
int prog(void *ctx)
{
	int k = 0;
	long *v = bpf_map_lookup_elem(&m, &k);
	if (v)
		*v = bpf_core_field_offset(struct task_struct, pid) + (long)&cpu_number;
	return sub(CONFIG_HZ);
}

char _license[] SEC("license") = "GPL";
