// SPDX-License-Identifier: GPL-2.0
/*
 * In the style of a TCP connection tracer (tcpconnect/tcpconnlat): a
 * connect's start is kept per socket when it enters SYN_SENT, and when it
 * becomes ESTABLISHED the latency, the flow and the process go to user
 * space through a perf event array and are counted per flow. The state
 * change is hooked three ways (tp_btf with typed arguments, raw_tp with
 * CO-RE probe reads of struct sock, and the classic tracepoint whose
 * record layout is itself CO-RE relocated), plus retransmits by tp_btf.
 */
#include "rawload_helpers.h"
#include "rawload_core.h"

#define BPF_MAP_TYPE_PERF_EVENT_ARRAY 4
#define BPF_F_CURRENT_CPU 0xffffffffULL
#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_CLOSE 7
#define MAX_PORTS 8

static __u64 (*bpf_ktime_get_ns)(void) = (void *)5;
static long (*bpf_get_current_comm)(void *buf, __u32 size) = (void *)16;
static long (*bpf_perf_event_output)(void *ctx, void *map, __u64 flags, void *data, __u64 size) = (void *)25;

struct in6_addr {
	union {
		__u8 u6_addr8[16];
		__u32 u6_addr32[4];
	} in6_u;
} __attribute__((preserve_access_index));

/* Flat: CO-RE finds these inside the kernel's anonymous unions. */
struct sock_common {
	unsigned short skc_family;
	__u32 skc_daddr;
	__u32 skc_rcv_saddr;
	__u16 skc_dport;
	__u16 skc_num;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
	__u16 sk_protocol;
} __attribute__((preserve_access_index));

/* The record of tracepoint sock/inet_sock_set_state. */
struct trace_event_raw_inet_sock_set_state {
	const void *skaddr;
	int oldstate;
	int newstate;
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u16 protocol;
	__u8 saddr[4];
	__u8 daddr[4];
	__u8 saddr_v6[16];
	__u8 daddr_v6[16];
} __attribute__((preserve_access_index));

struct piddata {
	char comm[16];
	__u64 ts;
	__u32 tgid;
};

struct conn_event {
	union {
		__u32 saddr_v4;
		__u8 saddr_v6[16];
	};
	union {
		__u32 daddr_v4;
		__u8 daddr_v6[16];
	};
	char comm[16];
	__u64 delta_us;
	__u64 ts_us;
	__u32 tgid;
	__u16 family;
	__u16 lport;
	__u16 dport;
	__u16 via;
};

struct ipv4_flow_key {
	__u32 saddr;
	__u32 daddr;
	__u16 dport;
};

struct ipv6_flow_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 dport;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct piddata);
} sockstart SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct ipv4_flow_key);
	__type(value, __u64);
} ipv4_count SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct ipv6_flow_key);
	__type(value, __u64);
} ipv6_count SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

/* Retransmits: 0 IPv4, 1 IPv6, 2 other. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} retrans SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} retrans_by_daddr SEC(".maps");

const volatile __u32 targ_tgid = 0;
const volatile __u64 targ_min_us = 0;
const volatile int filter_ports_len = 0;
const volatile __u16 filter_ports[MAX_PORTS] = {};
const volatile int do_count = 1;

static __always_inline int port_allowed(__u16 dport)
{
	int i;

	if (!filter_ports_len)
		return 1;
#pragma unroll
	for (i = 0; i < MAX_PORTS; i++) {
		if (i >= filter_ports_len)
			break;
		if (filter_ports[i] == dport)
			return 1;
	}
	return 0;
}

static __always_inline void count_flow(struct conn_event *e)
{
	static const __u64 one = 1;
	__u64 *v;

	if (!do_count)
		return;
	if (e->family == AF_INET) {
		struct ipv4_flow_key k = {
			.saddr = e->saddr_v4, .daddr = e->daddr_v4, .dport = e->dport,
		};
		v = bpf_map_lookup_elem(&ipv4_count, &k);
		if (v)
			__sync_fetch_and_add(v, 1);
		else
			bpf_map_update_elem(&ipv4_count, &k, &one, BPF_NOEXIST);
	} else {
		struct ipv6_flow_key k = {};

		__builtin_memcpy(k.saddr, e->saddr_v6, sizeof(k.saddr));
		__builtin_memcpy(k.daddr, e->daddr_v6, sizeof(k.daddr));
		k.dport = e->dport;
		v = bpf_map_lookup_elem(&ipv6_count, &k);
		if (v)
			__sync_fetch_and_add(v, 1);
		else
			bpf_map_update_elem(&ipv6_count, &k, &one, BPF_NOEXIST);
	}
}

static __always_inline int on_syn_sent(const void *sk)
{
	__u64 key = (__u64)sk;
	struct piddata pd = {};
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (targ_tgid && targ_tgid != tgid)
		return 0;
	bpf_get_current_comm(&pd.comm, sizeof(pd.comm));
	pd.ts = bpf_ktime_get_ns();
	pd.tgid = tgid;
	bpf_map_update_elem(&sockstart, &key, &pd, BPF_ANY);
	return 0;
}

/* Sends the event if a start was recorded; fills the latency and process. */
static __always_inline int on_established(void *ctx, const void *sk, struct conn_event *e)
{
	__u64 key = (__u64)sk, now = bpf_ktime_get_ns();
	struct piddata *pd;
	__s64 delta;

	pd = bpf_map_lookup_elem(&sockstart, &key);
	if (!pd)
		return 0;
	delta = (__s64)(now - pd->ts);
	if (delta < 0)
		goto out;
	e->delta_us = delta / 1000U;
	if (targ_min_us && e->delta_us < targ_min_us)
		goto out;
	if (!port_allowed(e->dport))
		goto out;
	__builtin_memcpy(e->comm, pd->comm, sizeof(e->comm));
	e->ts_us = now / 1000;
	e->tgid = pd->tgid;
	count_flow(e);
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, e, sizeof(*e));
out:
	bpf_map_delete_elem(&sockstart, &key);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int tcp_state_btf(__u64 *ctx)
{
	struct sock *sk = (void *)ctx[0];
	int oldstate = ctx[1], newstate = ctx[2];
	struct conn_event e = {};

	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	if (newstate == TCP_SYN_SENT)
		return on_syn_sent(sk);
	if (newstate == TCP_CLOSE) {
		__u64 key = (__u64)sk;

		bpf_map_delete_elem(&sockstart, &key);
		return 0;
	}
	if (oldstate != TCP_SYN_SENT || newstate != TCP_ESTABLISHED)
		return 0;
	e.family = sk->__sk_common.skc_family;
	e.lport = sk->__sk_common.skc_num;
	e.dport = sk->__sk_common.skc_dport;
	e.via = 1;
	if (e.family == AF_INET) {
		e.saddr_v4 = sk->__sk_common.skc_rcv_saddr;
		e.daddr_v4 = sk->__sk_common.skc_daddr;
	} else {
		__builtin_memcpy(e.saddr_v6, sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8, 16);
		__builtin_memcpy(e.daddr_v6, sk->__sk_common.skc_v6_daddr.in6_u.u6_addr8, 16);
	}
	return on_established(ctx, sk, &e);
}

SEC("raw_tp/inet_sock_set_state")
int tcp_state_raw(__u64 *ctx)
{
	struct sock *sk = (void *)ctx[0];
	int oldstate = ctx[1], newstate = ctx[2];
	struct conn_event e = {};

	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	if (newstate == TCP_SYN_SENT)
		return on_syn_sent(sk);
	if (oldstate != TCP_SYN_SENT || newstate != TCP_ESTABLISHED)
		return 0;
	e.family = BPF_CORE_READ(sk, __sk_common.skc_family);
	e.lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	e.dport = BPF_CORE_READ(sk, __sk_common.skc_dport);
	e.via = 2;
	if (e.family == AF_INET) {
		BPF_CORE_READ_INTO(&e.saddr_v4, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO(&e.daddr_v4, sk, __sk_common.skc_daddr);
	} else {
		BPF_CORE_READ_INTO(&e.saddr_v6, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&e.daddr_v6, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	}
	return on_established(ctx, sk, &e);
}

SEC("tracepoint/sock/inet_sock_set_state")
int tcp_state_tp(struct trace_event_raw_inet_sock_set_state *args)
{
	struct conn_event e = {};

	if (args->protocol != IPPROTO_TCP)
		return 0;
	if (args->newstate == TCP_SYN_SENT)
		return on_syn_sent(args->skaddr);
	if (args->oldstate != TCP_SYN_SENT || args->newstate != TCP_ESTABLISHED)
		return 0;
	e.family = args->family;
	e.lport = args->sport;
	e.dport = __builtin_bswap16(args->dport);
	e.via = 3;
	if (e.family == AF_INET) {
		bpf_probe_read_kernel(&e.saddr_v4, 4, args->saddr);
		bpf_probe_read_kernel(&e.daddr_v4, 4, args->daddr);
	} else {
		bpf_probe_read_kernel(e.saddr_v6, 16, args->saddr_v6);
		bpf_probe_read_kernel(e.daddr_v6, 16, args->daddr_v6);
	}
	return on_established(args, args->skaddr, &e);
}

SEC("tp_btf/tcp_retransmit_skb")
int tcp_retransmit(__u64 *ctx)
{
	struct sock *sk = (void *)ctx[0];
	__u32 slot = 2, daddr;
	__u64 *v, one = 1;

	if (!sk)
		return 0;
	if (sk->__sk_common.skc_family == AF_INET)
		slot = 0;
	else if (sk->__sk_common.skc_family == AF_INET6)
		slot = 1;
	v = bpf_map_lookup_elem(&retrans, &slot);
	if (v)
		*v += 1;
	if (slot != 0)
		return 0;
	daddr = sk->__sk_common.skc_daddr;
	v = bpf_map_lookup_elem(&retrans_by_daddr, &daddr);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&retrans_by_daddr, &daddr, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
