// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz seed: CO-RE without externs, so that its BTF passes through and the
 * local types of its relocations are copied out of it (reloc/corelocal.go):
 * field offsets through a nested struct, a field behind a pointer, a type's
 * size and existence.
 */
#include "rawload_helpers.h"
#include "rawload_core.h"

struct mm_struct {
	long total_vm;
} __attribute__((preserve_access_index));

struct sched_entity {
	long vruntime;
} __attribute__((preserve_access_index));

struct task_struct {
	int pid;
	struct sched_entity se;
	struct mm_struct *mm;
} __attribute__((preserve_access_index));

SEC("socket")
int prog(void *ctx)
{
	return bpf_core_field_offset(struct task_struct, pid) +
	       bpf_core_field_offset(struct task_struct, se.vruntime) +
	       bpf_core_field_exists(struct task_struct, mm) +
	       bpf_core_type_size(struct task_struct) +
	       bpf_core_type_exists(struct mm_struct);
}

char _license[] SEC("license") = "GPL";
