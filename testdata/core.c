// SPDX-License-Identifier: GPL-2.0
/*
 * CO-RE: kernel struct fragments declared with preserve_access_index, so
 * every access is a relocation the loader must resolve against the running
 * kernel's BTF. The local layout is deliberately unlike the kernel's:
 * compiled offsets are wrong, and only relocated ones read the right data.
 */
#include "rawload_helpers.h"
#include "rawload_core.h"

struct task_struct {
	int pid;
	int tgid;
	char comm[16];
	struct task_struct *real_parent;
	/* Absent from every kernel: only a field-exists relocation may touch it. */
	int rawload_no_such_field;
} __attribute__((preserve_access_index));

/* Absent from every kernel: type relocations on it must yield 0. */
struct rawload_missing_type {
	int x;
} __attribute__((preserve_access_index));

/*
 * rawload_helpers.h has the UAPI value as a macro; an enum relocation needs
 * the enumerator by name, with a local value the loader must replace.
 */
#undef BPF_MAP_TYPE_RINGBUF
enum bpf_map_type {
	BPF_MAP_TYPE_RINGBUF = 0,
	RAWLOAD_MAP_TYPE_MISSING = 1,
};

int target_tgid SEC(".data") = 0;

int seen_pid;
int seen_tgid;
int seen_ppid_tgid;
char seen_comm[16];
int tp_btf_hits;
int raw_tp_hits;

__u64 kind_pid_exists;
__u64 kind_missing_field_exists;
__u64 kind_comm_size;
__u64 kind_pid_offset;
__u64 kind_task_exists;
__u64 kind_missing_type_exists;
__u64 kind_task_size;
__u64 kind_ringbuf_exists;
__u64 kind_ringbuf_value;
__u64 kind_missing_enum_exists;
__u64 kind_task_local_id;
__u64 kind_task_target_id;

/* BTF-typed task pointer: plain loads, which the verifier turns into probes. */
SEC("tp_btf/sys_enter")
int core_tp_btf(__u64 *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();

	if (!target_tgid || t->tgid != target_tgid)
		return 0;
	seen_pid = t->pid;
	seen_tgid = t->tgid;
	seen_ppid_tgid = t->real_parent->tgid;
	__builtin_memcpy(seen_comm, t->comm, sizeof(seen_comm));
	__sync_fetch_and_add(&tp_btf_hits, 1);
	return 0;
}

/* Untyped task pointer: every hop is an explicit probe read. */
SEC("raw_tp/sys_enter")
int core_raw_tp(void *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	struct task_struct *parent;
	int tgid = 0;

	BPF_CORE_READ_INTO(&tgid, t, tgid);
	if (!target_tgid || tgid != target_tgid)
		return 0;
	seen_tgid = tgid;
	seen_pid = BPF_CORE_READ(t, pid);
	parent = BPF_CORE_READ(t, real_parent);
	seen_ppid_tgid = BPF_CORE_READ(parent, tgid);
	BPF_CORE_READ_INTO(&seen_comm, t, comm);
	__sync_fetch_and_add(&raw_tp_hits, 1);
	return 0;
}

/* One relocation per kind, each result kept where a test can compare it. */
SEC("socket")
int core_kinds(struct __sk_buff *skb)
{
	kind_pid_exists = bpf_core_field_exists(struct task_struct, pid);
	kind_missing_field_exists = bpf_core_field_exists(struct task_struct, rawload_no_such_field);
	kind_comm_size = bpf_core_field_size(struct task_struct, comm);
	kind_pid_offset = bpf_core_field_offset(struct task_struct, pid);
	kind_task_exists = bpf_core_type_exists(struct task_struct);
	kind_missing_type_exists = bpf_core_type_exists(struct rawload_missing_type);
	kind_task_size = bpf_core_type_size(struct task_struct);
	kind_ringbuf_exists = bpf_core_enum_value_exists(enum bpf_map_type, BPF_MAP_TYPE_RINGBUF);
	kind_ringbuf_value = bpf_core_enum_value(enum bpf_map_type, BPF_MAP_TYPE_RINGBUF);
	kind_missing_enum_exists = bpf_core_enum_value_exists(enum bpf_map_type, RAWLOAD_MAP_TYPE_MISSING);
	kind_task_local_id = bpf_core_type_id_local(struct task_struct);
	kind_task_target_id = bpf_core_type_id_kernel(struct task_struct);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
