// SPDX-License-Identifier: GPL-2.0
/*
 * In the style of a socket filter attached to a raw or packet socket:
 * count packets and bytes per IP protocol and per destination port, and
 * keep only IPv4 TCP/UDP packets. No CO-RE, no BTF-typed context: fields
 * of __sk_buff and bpf_skb_load_bytes.
 */
#include "rawload_helpers.h"

#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

static long (*bpf_skb_load_bytes)(const void *skb, __u32 offset, void *to, __u32 len) = (void *)26;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} proto_packets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u16);
	__type(value, __u64);
} port_bytes SEC(".maps");

const volatile __u32 snap_len = 0xffff;

SEC("socket")
int sock_count(struct __sk_buff *skb)
{
	__u8 proto = 0;
	__u16 dport = 0;
	__u8 verlen;
	__u32 key;
	__u64 *v, bytes = skb->len;

	if (skb->protocol != __builtin_bswap16(ETH_P_IP))
		return 0;
	if (bpf_skb_load_bytes(skb, ETH_HLEN + 9, &proto, 1))
		return 0;
	key = proto;
	v = bpf_map_lookup_elem(&proto_packets, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return 0;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &verlen, 1))
		return 0;
	if (bpf_skb_load_bytes(skb, ETH_HLEN + ((verlen & 0x0f) << 2) + 2, &dport, 2))
		return 0;
	dport = __builtin_bswap16(dport);
	v = bpf_map_lookup_elem(&port_bytes, &dport);
	if (v)
		__sync_fetch_and_add(v, bytes);
	else
		bpf_map_update_elem(&port_bytes, &dport, &bytes, BPF_NOEXIST);
	return snap_len;
}

/* Accepts only what the counter above looks at, uncounted. */
SEC("socket")
int sock_tcp_udp_only(struct __sk_buff *skb)
{
	__u8 proto = 0;

	if (skb->protocol != __builtin_bswap16(ETH_P_IP))
		return 0;
	if (bpf_skb_load_bytes(skb, ETH_HLEN + 9, &proto, 1))
		return 0;
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP ? snap_len : 0;
}

char LICENSE[] SEC("license") = "GPL";
