// SPDX-License-Identifier: GPL-2.0
/*
 * One program per networking and socket hook, each counting the events it
 * sees in counts[COUNT_*], so that a test can trigger the hook and watch
 * the counter rise. Packet programs count only UDP to test_port (host
 * order, set by the test before load), so that other traffic does not
 * count; xdp_count and tcx_ingress also mark seen[n] for the sequence
 * number n carried as the first four bytes (native order) of the UDP
 * payload: the gapless reload tests send n = 0, 1, 2... and expect every
 * n marked.
 */
#include "rawload_helpers.h"

#define BPF_MAP_TYPE_SOCKMAP 15

#define ETH_P_IP 0x0800
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define AF_INET 2
#define SOCK_DGRAM 2

/* TCX runs the next program of the list; TC_ACT_OK would end it. */
#define TCX_NEXT -1

#define SK_PASS 1
#define NF_ACCEPT 1
#define BPF_FLOW_DISSECTOR_CONTINUE 129

#define SEQ_MAX 65536

/* Byte order of bpfel, the only target this file is built for. */
#define bpf_htons(x) __builtin_bswap16(x)

enum {
	COUNT_XDP,
	COUNT_XDP_OTHER,
	COUNT_TCX_INGRESS,
	COUNT_TCX_EGRESS,
	COUNT_TC,
	COUNT_NETKIT,
	COUNT_CONNECT4,
	COUNT_SOCK_CREATE,
	COUNT_CGROUP_SKB,
	COUNT_SOCKOPS,
	COUNT_SK_LOOKUP,
	COUNT_FLOW_DISSECTOR,
	COUNT_SOCKET,
	COUNT_SK_MSG,
	COUNT_SK_SKB,
	COUNT_NETFILTER,
	COUNT_REUSEPORT,
	COUNT_MAX,
};

struct ethhdr {
	__u8 h_dest[6];
	__u8 h_source[6];
	__u16 h_proto;
} __attribute__((packed));

struct iphdr {
	__u8 ihl_version; /* ihl in the low nibble on little endian */
	__u8 tos;
	__u16 tot_len;
	__u16 id;
	__u16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__u16 check;
	__u32 saddr;
	__u32 daddr;
};

struct udphdr {
	__u16 source;
	__u16 dest;
	__u16 len;
	__u16 check;
};

/* The start of struct bpf_sock, up to what cg_sock_create reads. */
struct bpf_sock {
	__u32 bound_dev_if;
	__u32 family;
	__u32 type;
	__u32 protocol;
};

struct bpf_sk_lookup {
	union {
		__bpf_md_ptr(struct bpf_sock *, sk);
		__u64 cookie;
	};
	__u32 family;
	__u32 protocol;
	__u32 remote_ip4;
	__u32 remote_ip6[4];
	__u16 remote_port;
	__u16 : 16;
	__u32 local_ip4;
	__u32 local_ip6[4];
	__u32 local_port; /* host order */
	__u32 ingress_ifindex;
};

__u32 test_port SEC(".data") = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, COUNT_MAX);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u8);
	__uint(max_entries, SEQ_MAX);
} seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 2);
} sock_map SEC(".maps");

static __always_inline void count(__u32 what)
{
	__u64 *v = bpf_map_lookup_elem(&counts, &what);

	if (v)
		__sync_fetch_and_add(v, 1);
}

/*
 * udp_seq finds a UDP/IPv4 packet to test_port at ip and reads its
 * sequence number; it returns 0 for any other packet.
 */
static __always_inline int udp_seq(void *ip, void *end, __u32 *seq)
{
	struct iphdr *iph = ip;
	struct udphdr *udp = (void *)(iph + 1);
	__u32 *payload = (void *)(udp + 1);

	if ((void *)(payload + 1) > end)
		return 0;
	if ((iph->ihl_version & 0x0f) != 5 || iph->protocol != IPPROTO_UDP)
		return 0;
	if (!test_port || udp->dest != bpf_htons((__u16)test_port))
		return 0;
	*seq = *payload;
	return 1;
}

/* eth_seq is udp_seq for a frame that starts with its Ethernet header. */
static __always_inline int eth_seq(void *data, void *end, __u32 *seq)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return 0;
	return udp_seq(eth + 1, end, seq);
}

static __always_inline void mark(__u32 seq)
{
	__u8 one = 1;

	if (seq < SEQ_MAX)
		bpf_map_update_elem(&seen, &seq, &one, BPF_ANY);
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	__u32 seq;

	if (eth_seq((void *)(long)ctx->data, (void *)(long)ctx->data_end, &seq)) {
		count(COUNT_XDP);
		mark(seq);
	}
	return XDP_PASS;
}

/* xdp_other is what a test switches an xdp link to with Link.Update. */
SEC("xdp")
int xdp_other(struct xdp_md *ctx)
{
	__u32 seq;

	if (eth_seq((void *)(long)ctx->data, (void *)(long)ctx->data_end, &seq))
		count(COUNT_XDP_OTHER);
	return XDP_PASS;
}

SEC("tcx/ingress")
int tcx_ingress(struct __sk_buff *skb)
{
	__u32 seq;

	if (eth_seq((void *)(long)skb->data, (void *)(long)skb->data_end, &seq)) {
		count(COUNT_TCX_INGRESS);
		mark(seq);
	}
	return TCX_NEXT;
}

SEC("tcx/egress")
int tcx_egress(struct __sk_buff *skb)
{
	__u32 seq;

	if (eth_seq((void *)(long)skb->data, (void *)(long)skb->data_end, &seq))
		count(COUNT_TCX_EGRESS);
	return TCX_NEXT;
}

/* A section without a direction: attached at tcx ingress. */
SEC("tc")
int tc_plain(struct __sk_buff *skb)
{
	__u32 seq;

	if (eth_seq((void *)(long)skb->data, (void *)(long)skb->data_end, &seq))
		count(COUNT_TC);
	return TCX_NEXT;
}

SEC("netkit/primary")
int netkit_primary(struct __sk_buff *skb)
{
	count(COUNT_NETKIT);
	return 0; /* NETKIT_PASS */
}

SEC("cgroup/connect4")
int cg_connect4(void *ctx)
{
	count(COUNT_CONNECT4);
	return 1;
}

/* Counts UDP/IPv4 sockets: the only ones the test's helper creates. */
SEC("cgroup/sock_create")
int cg_sock_create(struct bpf_sock *sk)
{
	if (sk->family == AF_INET && sk->type == SOCK_DGRAM && sk->protocol == IPPROTO_UDP)
		count(COUNT_SOCK_CREATE);
	return 1;
}

/* A cgroup_skb program's packet starts at its IP header. */
SEC("cgroup_skb/egress")
int cg_skb_egress(struct __sk_buff *skb)
{
	__u32 seq;

	if (udp_seq((void *)(long)skb->data, (void *)(long)skb->data_end, &seq))
		count(COUNT_CGROUP_SKB);
	return 1;
}

SEC("sockops")
int cg_sockops(void *ctx)
{
	count(COUNT_SOCKOPS);
	return 1;
}

SEC("sk_lookup")
int sk_lookup_count(struct bpf_sk_lookup *ctx)
{
	if (ctx->protocol == IPPROTO_UDP && test_port && ctx->local_port == test_port)
		count(COUNT_SK_LOOKUP);
	return SK_PASS;
}

/* Counts and lets the kernel's own dissector do the work. */
SEC("flow_dissector")
int flow_dissector_count(struct __sk_buff *skb)
{
	count(COUNT_FLOW_DISSECTOR);
	return BPF_FLOW_DISSECTOR_CONTINUE;
}

/* A socket filter keeps what it returns: the whole packet. */
SEC("socket")
int socket_count(struct __sk_buff *skb)
{
	count(COUNT_SOCKET);
	return skb->len;
}

SEC("sk_msg")
int sk_msg_count(void *msg)
{
	count(COUNT_SK_MSG);
	return SK_PASS;
}

SEC("sk_skb/stream_verdict")
int sk_skb_count(struct __sk_buff *skb)
{
	count(COUNT_SK_SKB);
	return SK_PASS;
}

SEC("netfilter")
int netfilter_count(void *ctx)
{
	count(COUNT_NETFILTER);
	return NF_ACCEPT;
}

/* Selects nothing: the kernel's hash picks the socket of the group. */
SEC("sk_reuseport")
int reuseport_count(void *ctx)
{
	count(COUNT_REUSEPORT);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
