// SPDX-License-Identifier: GPL-2.0
/*
 * A typed ksym: a per-CPU variable declared with its type, so the loader
 * must find the VAR in vmlinux BTF and emit ld_imm64 BPF_PSEUDO_BTF_ID.
 * The verifier then needs the symbol's address from kallsyms, which lists
 * data symbols only with CONFIG_KALLSYMS_ALL; without it the load fails
 * with ENOENT even though the loader did everything right.
 */
#include "rawload_helpers.h"
#include "rawload_core.h"

extern const int cpu_number __ksym;

static void *(*bpf_per_cpu_ptr)(const void *percpu_ptr, __u32 cpu) = (void *)153;
static void *(*bpf_this_cpu_ptr)(const void *percpu_ptr) = (void *)154;
static __u32 (*bpf_get_smp_processor_id)(void) = (void *)8;

__u32 this_cpu_number;
__u32 smp_processor_id;
__u32 cpu0_number;

SEC("socket")
int percpu_prog(struct __sk_buff *skb)
{
	const int *cpu;

	/* Migration is disabled while a program runs: both name one CPU. */
	cpu = bpf_this_cpu_ptr(&cpu_number);
	this_cpu_number = *cpu;
	smp_processor_id = bpf_get_smp_processor_id();
	/* NULL when cpu >= nr_cpu_ids, which CPU 0 never is. */
	cpu = bpf_per_cpu_ptr(&cpu_number, 0);
	cpu0_number = cpu ? *cpu : 0xffffffff;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
