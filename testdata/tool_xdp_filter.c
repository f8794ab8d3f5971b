// SPDX-License-Identifier: GPL-2.0
/*
 * In the style of an XDP firewall: IPv4 sources are matched against an LPM
 * trie of blocked prefixes, TCP/UDP destination ports against a hash, and
 * every verdict is counted per CPU (packets and bytes). No CO-RE: packet
 * headers are UAPI, declared here.
 */
#include "rawload_helpers.h"

#define BPF_MAP_TYPE_PERCPU_HASH 5
#define BPF_MAP_TYPE_LPM_TRIE 11
#define BPF_F_NO_PREALLOC 1

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

struct ethhdr {
	__u8 h_dest[6];
	__u8 h_source[6];
	__u16 h_proto;
} __attribute__((packed));

struct vlan_hdr {
	__u16 tci;
	__u16 encap_proto;
};

struct iphdr {
	__u8 ihl_version;
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

struct ports {
	__u16 source;
	__u16 dest;
};

struct lpm_v4_key {
	__u32 prefixlen;
	__u32 addr;
};

struct port_key {
	__u16 port;
	__u8 proto;
	__u8 pad;
};

struct counter {
	__u64 packets;
	__u64 bytes;
};

enum verdict_slot {
	SLOT_PASS,
	SLOT_DROP_PREFIX,
	SLOT_DROP_PORT,
	SLOT_MALFORMED,
	SLOT_NOT_IP,
	NR_SLOTS,
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_v4_key);
	__type(value, __u32);
} blocked_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct port_key);
	__type(value, __u32);
} blocked_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NR_SLOTS);
	__type(key, __u32);
	__type(value, struct counter);
} verdicts SEC(".maps");

/* Per-source packet counts of what was dropped. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} drops_by_src SEC(".maps");

const volatile int enforce = 1;

static __always_inline int account(struct xdp_md *ctx, __u32 slot, int action)
{
	struct counter *c = bpf_map_lookup_elem(&verdicts, &slot);

	if (c) {
		c->packets++;
		c->bytes += ctx->data_end - ctx->data;
	}
	if (!enforce)
		return XDP_PASS;
	return action;
}

SEC("xdp")
int xdp_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct lpm_v4_key key;
	struct port_key pk = {};
	struct iphdr *ip;
	struct ports *ports;
	__u16 proto;
	__u64 *n, one = 1;
	void *cursor;

	if ((void *)(eth + 1) > data_end)
		return account(ctx, SLOT_MALFORMED, XDP_DROP);
	proto = eth->h_proto;
	cursor = eth + 1;
	if (proto == __builtin_bswap16(ETH_P_8021Q)) {
		struct vlan_hdr *vh = cursor;

		if ((void *)(vh + 1) > data_end)
			return account(ctx, SLOT_MALFORMED, XDP_DROP);
		proto = vh->encap_proto;
		cursor = vh + 1;
	}
	if (proto != __builtin_bswap16(ETH_P_IP))
		return account(ctx, SLOT_NOT_IP, XDP_PASS);
	ip = cursor;
	if ((void *)(ip + 1) > data_end)
		return account(ctx, SLOT_MALFORMED, XDP_DROP);

	key.prefixlen = 32;
	key.addr = ip->saddr;
	if (bpf_map_lookup_elem(&blocked_v4, &key)) {
		__u32 src = ip->saddr;

		n = bpf_map_lookup_elem(&drops_by_src, &src);
		if (n)
			*n += 1;
		else
			bpf_map_update_elem(&drops_by_src, &src, &one, BPF_NOEXIST);
		return account(ctx, SLOT_DROP_PREFIX, XDP_DROP);
	}
	if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
		return account(ctx, SLOT_PASS, XDP_PASS);
	ports = (void *)ip + ((ip->ihl_version & 0x0f) << 2);
	if ((void *)(ports + 1) > data_end)
		return account(ctx, SLOT_MALFORMED, XDP_DROP);
	pk.port = __builtin_bswap16(ports->dest);
	pk.proto = ip->protocol;
	if (bpf_map_lookup_elem(&blocked_ports, &pk))
		return account(ctx, SLOT_DROP_PORT, XDP_DROP);
	return account(ctx, SLOT_PASS, XDP_PASS);
}

/* A second, trivial program of the kind such tools ship for testing. */
SEC("xdp")
int xdp_count_only(struct xdp_md *ctx)
{
	return account(ctx, SLOT_PASS, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";
