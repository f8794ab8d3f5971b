// SPDX-License-Identifier: GPL-2.0
/*
 * Externs the loader must resolve before BPF_PROG_LOAD: .kconfig values
 * (from uname and the kernel config), an untyped ksym (an address from
 * /proc/kallsyms) and weak externs that are absent and must read as 0
 * instead of failing the load. externs_prog copies every value into .bss so
 * a test can compare them. Typed ksyms are in percpu_ksym.c: they need
 * CONFIG_KALLSYMS_ALL, which the test kernel lacks.
 */
#include "rawload_helpers.h"
#include "rawload_core.h"

extern __u32 LINUX_KERNEL_VERSION __kconfig;
extern _Bool LINUX_HAS_SYSCALL_WRAPPER __kconfig;
extern _Bool CONFIG_BPF_SYSCALL __kconfig;
/* Tristate: built in (=y) here; the kernel has no modules. */
extern enum libbpf_tristate CONFIG_TUN __kconfig;
extern int CONFIG_HZ __kconfig;
extern char CONFIG_DEFAULT_HOSTNAME[16] __kconfig;
extern _Bool CONFIG_RAWLOAD_DOES_NOT_EXIST __kconfig __weak;

/*
 * Untyped (void) ksyms come from kallsyms, which lists only text symbols
 * without CONFIG_KALLSYMS_ALL, so a function is the portable choice.
 */
extern const void do_unlinkat __ksym;
extern const void rawload_no_such_ksym __ksym __weak;
/* Typed (has BTF) but absent from vmlinux: weak, so it resolves to 0. */
extern const int rawload_no_such_percpu __ksym __weak;

__u32 ext_kernel_version;
__u32 ext_syscall_wrapper;
__u32 ext_bpf_syscall;
__u32 ext_tun_tristate;
__u32 ext_hz;
__u32 ext_missing_config;
char ext_hostname[16];
__u64 ext_unlinkat_addr;
__u64 ext_missing_ksym_addr;
__u64 ext_missing_typed_addr;

SEC("socket")
int externs_prog(struct __sk_buff *skb)
{
	ext_kernel_version = LINUX_KERNEL_VERSION;
	ext_syscall_wrapper = LINUX_HAS_SYSCALL_WRAPPER;
	ext_bpf_syscall = CONFIG_BPF_SYSCALL;
	ext_tun_tristate = CONFIG_TUN;
	ext_hz = CONFIG_HZ;
	ext_missing_config = CONFIG_RAWLOAD_DOES_NOT_EXIST;
	__builtin_memcpy(ext_hostname, CONFIG_DEFAULT_HOSTNAME, sizeof(ext_hostname));

	ext_unlinkat_addr = (__u64)&do_unlinkat;
	ext_missing_ksym_addr = (__u64)&rawload_no_such_ksym;
	ext_missing_typed_addr = (__u64)&rawload_no_such_percpu;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
