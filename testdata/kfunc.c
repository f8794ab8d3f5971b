// SPDX-License-Identifier: GPL-2.0
/*
 * kfunc calls: the loader must turn each call to a __ksym function into a
 * BPF_PSEUDO_KFUNC_CALL with the function's vmlinux BTF id. tc and syscall
 * programs may call these kfuncs and BPF_PROG_TEST_RUN can run both.
 */
#include "rawload_helpers.h"
#include "rawload_core.h"

/*
 * Never dereferenced, but a complete struct: libbpf 1.1 finds a BTF FWD
 * pointee incompatible with the kernel's STRUCT when checking prototypes.
 */
struct task_struct {
	int pid;
} __attribute__((preserve_access_index));

extern struct task_struct *bpf_task_from_pid(__s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
/* Weak but present: bpf_ksym_exists becomes a BTF-id ld_imm64, not 0. */
extern void bpf_rcu_read_lock(void) __ksym __weak;
extern void bpf_rcu_read_unlock(void) __ksym __weak;
/* Weak and absent: the loader must resolve it to 0, not fail the load. */
extern int bpf_rawload_no_such_kfunc(void) __ksym __weak;

/*
 * Looks up the caller's own tgid: BPF_PROG_TEST_RUN runs the program in the
 * calling task, so the lookup can only fail if the kfunc call is broken.
 * (pid 1 is no good: on the test VM bpf_task_from_pid(1) returns NULL.)
 */
static __always_inline int current_task_found(void)
{
	struct task_struct *t = bpf_task_from_pid(bpf_get_current_pid_tgid() >> 32);

	if (!t)
		return 0;
	bpf_task_release(t);
	return 1;
}

SEC("tc")
int kfunc_task(struct __sk_buff *skb)
{
	return current_task_found();
}

SEC("syscall")
int kfunc_syscall(void *ctx)
{
	return current_task_found();
}

/* The dead call must survive verification: the loader poisons or drops it. */
SEC("tc")
int kfunc_missing(struct __sk_buff *skb)
{
	if (bpf_ksym_exists(bpf_rawload_no_such_kfunc))
		return bpf_rawload_no_such_kfunc();
	return 7;
}

SEC("tc")
int kfunc_weak_present(struct __sk_buff *skb)
{
	if (!bpf_ksym_exists(bpf_rcu_read_lock))
		return 4;
	bpf_rcu_read_lock();
	bpf_rcu_read_unlock();
	return 3;
}

char LICENSE[] SEC("license") = "GPL";
