/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Minimal stand-in for libbpf's bpf_core_read.h and the extern parts of
 * bpf_helpers.h: CO-RE relocation builtins, __kconfig/__ksym externs and the
 * tracing helpers the CO-RE objects call. Include after rawload_helpers.h.
 *
 * Every macro here expands to a clang builtin that records a relocation in
 * .BTF.ext (CO-RE) or to a section attribute that makes the symbol an
 * extern a loader must resolve; nothing works without a loader that
 * understands them.
 */
#ifndef __RAWLOAD_CORE_H
#define __RAWLOAD_CORE_H

#ifndef __weak
#define __weak __attribute__((weak))
#endif

/* Loader-resolved externs: section names are libbpf's convention. */
#define __kconfig __attribute__((section(".kconfig")))
#define __ksym __attribute__((section(".ksyms")))

/* The kconfig type of a tristate CONFIG_ is matched by this enum's name. */
enum libbpf_tristate {
	TRI_NO = 0,
	TRI_YES = 1,
	TRI_MODULE = 2,
};

/*
 * A weak ksym or kfunc resolves to 0 when absent. The assert stops a
 * non-weak symbol from being tested, which clang would fold to 1.
 */
#define bpf_ksym_exists(sym) ({                                              \
	_Static_assert(!__builtin_constant_p(!!sym), #sym " must be __weak"); \
	!!sym;                                                               \
})

/* Second argument of __builtin_preserve_field_info (enum bpf_core_relo_kind). */
#define RAWLOAD_FIELD_BYTE_OFFSET 0
#define RAWLOAD_FIELD_BYTE_SIZE 1
#define RAWLOAD_FIELD_EXISTS 2
#define RAWLOAD_FIELD_SIGNED 3
#define RAWLOAD_FIELD_LSHIFT_U64 4
#define RAWLOAD_FIELD_RSHIFT_U64 5
/* Of __builtin_btf_type_id. */
#define RAWLOAD_TYPE_ID_LOCAL 0
#define RAWLOAD_TYPE_ID_TARGET 1
/* Of __builtin_preserve_type_info. */
#define RAWLOAD_TYPE_EXISTS 0
#define RAWLOAD_TYPE_SIZE 1
#define RAWLOAD_TYPE_MATCHES 2
/* Of __builtin_preserve_enum_value. */
#define RAWLOAD_ENUMVAL_EXISTS 0
#define RAWLOAD_ENUMVAL_VALUE 1

/*
 * The field forms take a type and a member so that no object is needed:
 * the builtin only looks at the access chain of the null pointer.
 */
#define __rawload_field(type, field) (((type *)0)->field)

#define bpf_core_field_offset(type, field) \
	__builtin_preserve_field_info(__rawload_field(type, field), RAWLOAD_FIELD_BYTE_OFFSET)
#define bpf_core_field_size(type, field) \
	__builtin_preserve_field_info(__rawload_field(type, field), RAWLOAD_FIELD_BYTE_SIZE)
#define bpf_core_field_exists(type, field) \
	__builtin_preserve_field_info(__rawload_field(type, field), RAWLOAD_FIELD_EXISTS)

#define bpf_core_type_id_local(type) \
	__builtin_btf_type_id(*(type *)0, RAWLOAD_TYPE_ID_LOCAL)
#define bpf_core_type_id_kernel(type) \
	__builtin_btf_type_id(*(type *)0, RAWLOAD_TYPE_ID_TARGET)
#define bpf_core_type_exists(type) \
	__builtin_preserve_type_info(*(type *)0, RAWLOAD_TYPE_EXISTS)
#define bpf_core_type_size(type) \
	__builtin_preserve_type_info(*(type *)0, RAWLOAD_TYPE_SIZE)

#define bpf_core_enum_value_exists(enum_type, value) \
	__builtin_preserve_enum_value(*(enum_type *)value, RAWLOAD_ENUMVAL_EXISTS)
#define bpf_core_enum_value(enum_type, value) \
	__builtin_preserve_enum_value(*(enum_type *)value, RAWLOAD_ENUMVAL_VALUE)

static long (*bpf_probe_read_kernel)(void *dst, __u32 size, const void *unsafe_ptr) = (void *)113;
static __u64 (*bpf_get_current_task)(void) = (void *)35;
static void *(*bpf_get_current_task_btf)(void) = (void *)158;

/*
 * Reads src->a->b... with bpf_probe_read_kernel, each pointer hop being a
 * CO-RE relocated field offset. Only the one- and two-hop forms are needed.
 */
#define BPF_CORE_READ_INTO(dst, src, field) \
	bpf_probe_read_kernel((dst), sizeof(*(dst)), __builtin_preserve_access_index(&(src)->field))

#define BPF_CORE_READ(src, field) ({                         \
	typeof((src)->field) __r;                            \
	__builtin_memset(&__r, 0, sizeof(__r));              \
	BPF_CORE_READ_INTO(&__r, src, field);                \
	__r;                                                 \
})

#endif /* __RAWLOAD_CORE_H */
