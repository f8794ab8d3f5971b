// SPDX-License-Identifier: GPL-2.0
/*
 * C that bpf/gen must bind although the other test objects do not have
 * it: names that collide with each other, with the methods of
 * *bpf.Object and with the generated identifiers; __int128 bitfields
 * (wider than 64 bits too); bitfields of bool, char and 1-byte enums;
 * 1- and 8-byte enums, signed and not; unions whose most aligned member
 * is in an anonymous struct, or that have nothing else; packed structs;
 * empty structs, flexible arrays; typedefs of functions, function
 * pointers, arrays, anonymous structs and undefined structs; CO-RE
 * flavors of a struct (flav___a) next to it.
 * corpus_test.go generates and compiles its bindings.
 *
 * Built in this directory with:
 *   clang-19 -g -O2 -Wall -I../../../testdata/include -fdebug-prefix-map=$PWD=. \
 *     -fdebug-compilation-dir=. -target bpfel -c edge.c -o edge.o
 */
#include "rawload_helpers.h"

enum objects { OBJECTS_A, LOAD_EDGE, EDGE_BYTES };
enum big64 { BIG_MAX = 0xffffffffffffffffULL, BIG_ONE = 1 };
enum neg64 { NEG_MIN = -0x7fffffffffffffffLL - 1, NEG_ONE = 1 };
enum small8 : __u8 { S8_A = 200 };
enum signed8 : signed char { SS8_A = -100 };

typedef int fn_t(int);
typedef int (*fnp_t)(int);
typedef int arr_t[4];
typedef struct { int x; } anon_t;
typedef struct named { int y; } named;
typedef union { __u32 a; __u16 b[2]; } uanon_t;
struct opaque;
typedef struct opaque opaque_t;

struct wide {
	unsigned __int128 big : 100;
	__int128 sbig : 28;
	unsigned __int128 small : 7;
	__int128 whole;
	unsigned __int128 uwhole;
};

struct names {
	int type;
	int _;
	int __;
	int a_b;
	int aB;
	int set_x;
	unsigned x : 3;
	unsigned X : 3;
	int Bitfields;
	int bitfields;
	int anon0;
	int Field;
	union { int u1; char u2; };
	union { char c; struct { int ia; int ib; }; };
};

struct __attribute__((packed)) packed {
	char a;
	__u64 b;
	unsigned c : 7;
	union { __u32 p; __u16 q; };
	struct names n;
};

struct deep0 { int v; };
struct deep1 { struct deep0 d; };
struct deep2 { struct deep1 d; };
struct deep3 { struct deep2 d[2]; };
struct deep4 { const volatile struct deep3 d; };

struct bitonly {
	union { unsigned a : 3; unsigned b : 5; };
	unsigned long long z : 64;
};

struct flex { int n; int data[]; };
struct emptys {};
struct withempty { int a; struct emptys e; int b; };

/* Aligned 4 and 8 by members of anonymous structs only. */
struct ualign { union { char c; struct { int ia; int ib; }; }; };
struct uonly { union { struct { __u16 lo; __u64 hi; }; }; };

struct flav___a { int a; };
struct flav___b { int b; };
struct flav { int c; };

struct all {
	struct flav___a fa;
	struct flav___b fb;
	struct flav f0;
	struct wide w;
	struct names n;
	struct packed p;
	struct deep4 d4;
	struct bitonly bo;
	struct withempty we;
	enum objects o;
	enum big64 b64;
	enum neg64 n64;
	enum small8 s8;
	enum signed8 ss8;
	fnp_t fp;
	fn_t *fp2;
	opaque_t *op;
	arr_t arr;
	anon_t an;
	named nm;
	uanon_t ua;
	_Bool flag;
	_Bool bflag : 1;
	char ch : 3;
	signed char sch : 3;
	float f;
	double d;
	enum small8 s8b : 4;
	enum signed8 ss8b : 4;
	struct { int q; } nested[3];
	union { int z; } nestedu;
	struct ualign ual;
	struct uonly uon;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct all);
	__type(value, struct names);
	__uint(max_entries, 1);
} close SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct packed);
	__uint(max_entries, 1);
} object SEC(".maps"), Close SEC(".maps"), load_edge SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct flex);
	__type(value, struct emptys);
	__uint(max_entries, 1);
} flexmap SEC(".maps");

struct all all_global;
struct wide wide_global SEC(".data.wide");
const volatile struct bitonly bo_global = {};
int Close_var;
int object_var;
int stats;
int load;
int spec;
char bytes[3];
int edge_bytes;
struct flex flex_global;
struct emptys empty_global;
struct withempty we_global;
int Map;
int Programs;
int Object;

SEC("xdp") int close_prog(void *ctx)
{
	return all_global.n.type + stats + load + spec + bytes[0] + edge_bytes + Map + Programs + Object +
	       flex_global.n + we_global.a + Close_var + object_var + bo_global.z + wide_global.sbig;
}

SEC("xdp") int Object_(void *ctx) { return 2; }
SEC("xdp") int load_prog(void *ctx) { return 2; }
SEC("xdp") int Load(void *ctx) { return 2; }
SEC("xdp") int stats_(void *ctx) { return 2; }

char LICENSE[] SEC("license") = "GPL";
