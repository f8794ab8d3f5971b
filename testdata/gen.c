// SPDX-License-Identifier: GPL-2.0
/*
 * Types for `rawload gen` (bpf/gen): a struct global with padding,
 * bitfields (one signed), an anonymous union, an enum, a typedef and a
 * named member of an anonymous struct type; a struct-keyed hash map with
 * a struct value; a ring buffer of struct event (declared only in BTF,
 * for --type). gen_echo copies what it reads of cfg into echo and
 * through the flows map, so a test can see the Go layout is the kernel's.
 */
#include "rawload_helpers.h"

enum kind {
	KIND_NONE = 0,
	KIND_OPEN = 1,
	KIND_CLOSE = 2,
	KIND_ERROR = -1,
};

typedef __u32 owner_t;

/* 40 bytes: 7 bytes of padding after enabled, 3 bytes of bitfields at 20. */
struct config {
	__u8 enabled;
	__u64 limit;
	enum kind kind;
	unsigned int level : 3;
	int delta : 5;
	unsigned int flag : 1;
	union {
		__u32 as_u32;
		__u64 as_u64;
		__u8 bytes[8];
	};
	owner_t owner;
	struct {
		__u16 lo, hi;
	} range;
};

typedef struct config config_t;

/* 12 bytes: 3 of padding after proto, 2 at the end. */
struct flow_key {
	__u8 proto;
	__u32 addr;
	__u16 port;
};

struct flow_stats {
	__u64 packets;
	__u64 bytes;
};

/* What gen_echo saw of cfg, field by field. */
struct echo {
	__u64 limit;
	__u64 as_u64;
	__s32 delta;
	__u32 level;
	__u32 flag;
	__u32 owner;
	__u16 hi;
	__u8 enabled;
	__u8 kind;
};

struct event {
	__u32 pid;
	enum kind kind;
	__u64 value;
	char comm[16];
};

/* Layouts Go cannot copy field by field: a packed struct (its len and
 * id are byte arrays in Go), an anonymous struct in an anonymous union,
 * an array of structs, bitfields in a byte and an array of enums. */
struct packed_hdr {
	__u8 type;
	__u32 len;
	__u16 id;
} __attribute__((packed));

struct nested {
	struct packed_hdr hdr;
	__u64 when;
	union {
		struct {
			__u32 a, b;
		};
		__u64 ab;
	};
	struct flow_key keys[2];
	__u8 tail : 4;
	__u8 more : 4;
	enum kind kinds[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct flow_key);
	__type(value, struct flow_stats);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

config_t cfg = {.enabled = 1, .limit = 100, .kind = KIND_OPEN, .level = 2, .delta = -2, .flag = 1, .owner = 7};
struct echo echo;
struct flow_stats totals;
struct nested tricky;

/* A subprogram taking struct event puts the type in BTF. */
static __noinline void fill_event(struct event *ev)
{
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->pid = cfg.owner;
	ev->kind = cfg.kind;
	ev->value = cfg.limit;
	ev->comm[0] = 'g';
}

SEC("socket")
int gen_echo(void *ctx)
{
	struct flow_key key;
	struct flow_stats *seen, next;
	struct event ev;

	echo.limit = cfg.limit;
	echo.as_u64 = cfg.as_u64;
	echo.delta = cfg.delta;
	echo.level = cfg.level;
	echo.flag = cfg.flag;
	echo.owner = cfg.owner;
	echo.hi = cfg.range.hi;
	echo.enabled = cfg.enabled;
	echo.kind = cfg.kind;
	tricky.when = tricky.a + tricky.b + tricky.hdr.len + tricky.tail;

	/* flows[{6, as_u32, lo}] is added to totals and moved, one packet
	 * more, to flows[{17, owner, hi}]. */
	__builtin_memset(&key, 0, sizeof(key));
	key.proto = 6;
	key.addr = cfg.as_u32;
	key.port = cfg.range.lo;
	seen = bpf_map_lookup_elem(&flows, &key);
	if (!seen)
		return 0;
	totals.packets += seen->packets;
	totals.bytes += seen->bytes;
	next.packets = seen->packets + 1;
	next.bytes = cfg.limit;
	key.proto = 17;
	key.addr = cfg.owner;
	key.port = cfg.range.hi;
	bpf_map_update_elem(&flows, &key, &next, BPF_ANY);

	fill_event(&ev);
	bpf_ringbuf_output(&events, &ev, sizeof(ev), 0);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
