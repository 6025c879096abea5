/* SPDX-License-Identifier: Apache-2.0 */
/* <bpf/bpf_core_read.h> of the ebpf Python package: CO-RE (compile once, run
 * everywhere) reads and type queries. Every macro here is built on clang's BPF
 * builtins, which record a relocation in .BTF.ext; the loader rewrites the
 * instruction for the running kernel's types. */
#ifndef __BPF_CORE_READ_H__
#define __BPF_CORE_READ_H__

#include "bpf_helpers.h"	/* as libbpf's has since 1.4: bpf_probe_read_kernel() ... */
#include "ebpf_args.h"

/* what __builtin_preserve_field_info() reports */
enum bpf_field_info_kind {
	BPF_FIELD_BYTE_OFFSET = 0,	/* byte offset of the field */
	BPF_FIELD_BYTE_SIZE = 1,	/* bytes to load for the field */
	BPF_FIELD_EXISTS = 2,		/* 1 if the field exists in the target */
	BPF_FIELD_SIGNED = 3,		/* 1 if it is a signed integer */
	BPF_FIELD_LSHIFT_U64 = 4,	/* bitfield extraction: left shift */
	BPF_FIELD_RSHIFT_U64 = 5,	/* bitfield extraction: right shift */
};

/* what __builtin_btf_type_id() reports */
enum bpf_type_id_kind {
	BPF_TYPE_ID_LOCAL = 0,		/* id in the program's own BTF */
	BPF_TYPE_ID_TARGET = 1,		/* id in the kernel's BTF */
};

/* what __builtin_preserve_type_info() reports */
enum bpf_type_info_kind {
	BPF_TYPE_EXISTS = 0,
	BPF_TYPE_SIZE = 1,
	BPF_TYPE_MATCHES = 2,
};

/* what __builtin_preserve_enum_value() reports */
enum bpf_enum_value_kind {
	BPF_ENUMVAL_EXISTS = 0,
	BPF_ENUMVAL_VALUE = 1,
};

#define __CORE_RELO(src, field, info)					\
	__builtin_preserve_field_info((src)->field, BPF_FIELD_##info)

/* ---- bitfields -------------------------------------------------------- */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define __CORE_BITFIELD_PROBE_READ(dst, src, fld)			\
	bpf_probe_read_kernel((void *)dst, __CORE_RELO(src, fld, BYTE_SIZE), \
			      (const void *)src + __CORE_RELO(src, fld, BYTE_OFFSET))
#else
/* big endian: the loaded bytes belong at the end of the u64 */
#define __CORE_BITFIELD_PROBE_READ(dst, src, fld)			\
	bpf_probe_read_kernel((void *)dst + (8 - __CORE_RELO(src, fld, BYTE_SIZE)), \
			      __CORE_RELO(src, fld, BYTE_SIZE),		\
			      (const void *)src + __CORE_RELO(src, fld, BYTE_OFFSET))
#endif

#define ___ebpf_bitfield_extract(val, s, field)				\
	do {								\
		val <<= __CORE_RELO(s, field, LSHIFT_U64);		\
		if (__CORE_RELO(s, field, SIGNED))			\
			val = ((long long)val) >> __CORE_RELO(s, field, RSHIFT_U64); \
		else							\
			val = val >> __CORE_RELO(s, field, RSHIFT_U64);	\
	} while (0)

/* a bitfield (signed or not) read through bpf_probe_read_kernel */
#define BPF_CORE_READ_BITFIELD_PROBED(s, field)				\
	({								\
		unsigned long long ___val = 0;				\
		__CORE_BITFIELD_PROBE_READ(&___val, s, field);		\
		___ebpf_bitfield_extract(___val, s, field);		\
		___val;							\
	})

/* a bitfield read by a direct load (BTF-enabled programs: tp_btf, fentry, ...) */
#define BPF_CORE_READ_BITFIELD(s, field)				\
	({								\
		const void *___p = (const void *)s + __CORE_RELO(s, field, BYTE_OFFSET); \
		unsigned long long ___val;				\
		asm volatile("" : "=r"(___p) : "0"(___p));		\
		switch (__CORE_RELO(s, field, BYTE_SIZE)) {		\
		case 1: ___val = *(const unsigned char *)___p; break;	\
		case 2: ___val = *(const unsigned short *)___p; break;	\
		case 4: ___val = *(const unsigned int *)___p; break;	\
		case 8: ___val = *(const unsigned long long *)___p; break; \
		default: ___val = 0; break;				\
		}							\
		___ebpf_bitfield_extract(___val, s, field);		\
		___val;							\
	})

/* ---- field and type queries -------------------------------------------- */
/* a field named either as an expression (p->f) or as (type, field) */
#define ___bpf_field_ref1(field) (field)
#define ___bpf_field_ref2(type, field) (((typeof(type) *)0)->field)
#define ___bpf_field_ref(args...)					\
	___bpf_apply(___bpf_field_ref, ___bpf_narg(args))(args)

#define bpf_core_field_exists(field...)					\
	__builtin_preserve_field_info(___bpf_field_ref(field), BPF_FIELD_EXISTS)
#define bpf_core_field_size(field...)					\
	__builtin_preserve_field_info(___bpf_field_ref(field), BPF_FIELD_BYTE_SIZE)
#define bpf_core_field_offset(field...)					\
	__builtin_preserve_field_info(___bpf_field_ref(field), BPF_FIELD_BYTE_OFFSET)
#define bpf_core_field_signed(field...)					\
	__builtin_preserve_field_info(___bpf_field_ref(field), BPF_FIELD_SIGNED)

#define bpf_core_type_id_local(type)					\
	__builtin_btf_type_id(*(typeof(type) *)0, BPF_TYPE_ID_LOCAL)
#define bpf_core_type_id_kernel(type)					\
	__builtin_btf_type_id(*(typeof(type) *)0, BPF_TYPE_ID_TARGET)
#define bpf_core_type_exists(type)					\
	__builtin_preserve_type_info(*(typeof(type) *)0, BPF_TYPE_EXISTS)
#define bpf_core_type_matches(type)					\
	__builtin_preserve_type_info(*(typeof(type) *)0, BPF_TYPE_MATCHES)
#define bpf_core_type_size(type)					\
	__builtin_preserve_type_info(*(typeof(type) *)0, BPF_TYPE_SIZE)

#define bpf_core_enum_value_exists(enum_type, enum_value)		\
	__builtin_preserve_enum_value(*(typeof(enum_type) *)enum_value, BPF_ENUMVAL_EXISTS)
#define bpf_core_enum_value(enum_type, enum_value)			\
	__builtin_preserve_enum_value(*(typeof(enum_type) *)enum_value, BPF_ENUMVAL_VALUE)

/* view a kernel pointer as a (read-only, BTF-typed) kernel type (Linux 6.2+) */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __attribute__((section(".ksyms"))) __attribute__((weak));
#define bpf_core_cast(ptr, type)					\
	((typeof(type) *)bpf_rdonly_cast((ptr), bpf_core_type_id_kernel(type)))

/* ---- single reads --------------------------------------------------- */
#define bpf_core_read(dst, sz, src)					\
	bpf_probe_read_kernel(dst, sz, (const void *)__builtin_preserve_access_index(src))
#define bpf_core_read_user(dst, sz, src)				\
	bpf_probe_read_user(dst, sz, (const void *)__builtin_preserve_access_index(src))
#define bpf_core_read_str(dst, sz, src)					\
	bpf_probe_read_kernel_str(dst, sz, (const void *)__builtin_preserve_access_index(src))
#define bpf_core_read_user_str(dst, sz, src)				\
	bpf_probe_read_user_str(dst, sz, (const void *)__builtin_preserve_access_index(src))

/* ---- pointer chains: BPF_CORE_READ(s, a, b, c) reads s->a->b->c ------- */
/* a->b->c from the list (a, b, c), and its type */
#define ___bpf_arrow1(a) a
#define ___bpf_arrow2(a, b) a->b
#define ___bpf_arrow3(a, b, c) a->b->c
#define ___bpf_arrow4(a, b, c, d) a->b->c->d
#define ___bpf_arrow5(a, b, c, d, e) a->b->c->d->e
#define ___bpf_arrow6(a, b, c, d, e, f) a->b->c->d->e->f
#define ___bpf_arrow7(a, b, c, d, e, f, g) a->b->c->d->e->f->g
#define ___bpf_arrow8(a, b, c, d, e, f, g, h) a->b->c->d->e->f->g->h
#define ___bpf_arrow9(a, b, c, d, e, f, g, h, i) a->b->c->d->e->f->g->h->i
#define ___bpf_arrow10(a, b, c, d, e, f, g, h, i, j) a->b->c->d->e->f->g->h->i->j
#define ___bpf_arrow(...) ___bpf_apply(___bpf_arrow, ___bpf_narg(__VA_ARGS__))(__VA_ARGS__)
#define ___bpf_chain_type(...) typeof(___bpf_arrow(__VA_ARGS__))

/* read ((type)ptr)->field into *dst with read_fn */
#define ___bpf_read(read_fn, dst, type, ptr, field)			\
	read_fn((void *)(dst), sizeof(*(dst)), &((type)(ptr))->field)

/* Step k of a chain: the pointer src->a1->...->ak lands in ___t. Step 1 reads
 * from src itself, later steps from the previous ___t. All variadic so that the
 * already-expanded argument lists are re-split on rescan. */
#define ___bpf_step_first(fn, src, a)					\
	___bpf_read(fn, &___t, ___bpf_chain_type(src), src, a);
#define ___bpf_step_next(fn, ...)					\
	___bpf_read(fn, &___t, ___bpf_chain_type(___bpf_nolast(__VA_ARGS__)), ___t, \
		    ___bpf_last(__VA_ARGS__));
#define ___bpf_ptrs1(fn, ...) const void *___t; ___bpf_step_first(fn, __VA_ARGS__)
#define ___bpf_ptrs2(fn, ...) ___bpf_ptrs1(fn, ___bpf_nolast(__VA_ARGS__)) ___bpf_step_next(fn, __VA_ARGS__)
#define ___bpf_ptrs3(fn, ...) ___bpf_ptrs2(fn, ___bpf_nolast(__VA_ARGS__)) ___bpf_step_next(fn, __VA_ARGS__)
#define ___bpf_ptrs4(fn, ...) ___bpf_ptrs3(fn, ___bpf_nolast(__VA_ARGS__)) ___bpf_step_next(fn, __VA_ARGS__)
#define ___bpf_ptrs5(fn, ...) ___bpf_ptrs4(fn, ___bpf_nolast(__VA_ARGS__)) ___bpf_step_next(fn, __VA_ARGS__)
#define ___bpf_ptrs6(fn, ...) ___bpf_ptrs5(fn, ___bpf_nolast(__VA_ARGS__)) ___bpf_step_next(fn, __VA_ARGS__)
#define ___bpf_ptrs7(fn, ...) ___bpf_ptrs6(fn, ___bpf_nolast(__VA_ARGS__)) ___bpf_step_next(fn, __VA_ARGS__)
#define ___bpf_ptrs8(fn, ...) ___bpf_ptrs7(fn, ___bpf_nolast(__VA_ARGS__)) ___bpf_step_next(fn, __VA_ARGS__)
#define ___bpf_ptrs9(fn, ...) ___bpf_ptrs8(fn, ___bpf_nolast(__VA_ARGS__)) ___bpf_step_next(fn, __VA_ARGS__)
/* (fn, src, a1..an): the pointer steps for n accessors */
#define ___bpf_ptrs(fn, src, ...)					\
	___bpf_apply(___bpf_ptrs, ___bpf_narg(__VA_ARGS__))(fn, src, __VA_ARGS__)

/* one accessor: read src->a directly into dst */
#define ___bpf_core_read0(fn, fn_ptr, dst, src, a)			\
	___bpf_read(fn, dst, ___bpf_chain_type(src), src, a);
/* several: follow the pointers, then read the last field */
#define ___bpf_core_readN(fn, fn_ptr, dst, src, ...)			\
	___bpf_ptrs(fn_ptr, src, ___bpf_nolast(__VA_ARGS__))		\
	___bpf_read(fn, dst, ___bpf_chain_type(src, ___bpf_nolast(__VA_ARGS__)), ___t, \
		    ___bpf_last(__VA_ARGS__));
#define ___bpf_core_read(fn, fn_ptr, dst, src, a, ...)			\
	___bpf_apply(___bpf_core_read, ___bpf_empty(__VA_ARGS__))(fn, fn_ptr, dst, \
								  src, a, ##__VA_ARGS__)

/* BPF_CORE_READ_INTO(&dst, s, a, b): dst = s->a->b with CO-RE relocations */
#define BPF_CORE_READ_INTO(dst, src, a, ...) ({				\
	___bpf_core_read(bpf_core_read, bpf_core_read, dst, (src), a, ##__VA_ARGS__) \
})
/* the same for user memory */
#define BPF_CORE_READ_USER_INTO(dst, src, a, ...) ({			\
	___bpf_core_read(bpf_core_read_user, bpf_core_read_user, dst, (src), a, ##__VA_ARGS__) \
})
/* plain bpf_probe_read_kernel, no CO-RE relocations */
#define BPF_PROBE_READ_INTO(dst, src, a, ...) ({			\
	___bpf_core_read(bpf_probe_read_kernel, bpf_probe_read_kernel, dst, (src), a, \
			 ##__VA_ARGS__)						\
})
#define BPF_PROBE_READ_USER_INTO(dst, src, a, ...) ({			\
	___bpf_core_read(bpf_probe_read_user, bpf_probe_read_user, dst, (src), a, \
			 ##__VA_ARGS__)						\
})
/* the last field is a string: read it with *_str (stops at NUL) */
#define BPF_CORE_READ_STR_INTO(dst, src, a, ...) ({			\
	___bpf_core_read(bpf_core_read_str, bpf_core_read, dst, (src), a, ##__VA_ARGS__) \
})
#define BPF_CORE_READ_USER_STR_INTO(dst, src, a, ...) ({		\
	___bpf_core_read(bpf_core_read_user_str, bpf_core_read_user, dst, (src), a, \
			 ##__VA_ARGS__)						\
})
#define BPF_PROBE_READ_STR_INTO(dst, src, a, ...) ({			\
	___bpf_core_read(bpf_probe_read_kernel_str, bpf_probe_read_kernel, dst, (src), a, \
			 ##__VA_ARGS__)						\
})
#define BPF_PROBE_READ_USER_STR_INTO(dst, src, a, ...) ({		\
	___bpf_core_read(bpf_probe_read_user_str, bpf_probe_read_user, dst, (src), a, \
			 ##__VA_ARGS__)						\
})

/* BPF_CORE_READ(s, a, b): the value of s->a->b, read with CO-RE relocations */
#define BPF_CORE_READ(src, a, ...) ({					\
	___bpf_chain_type((src), a, ##__VA_ARGS__) ___r;		\
	BPF_CORE_READ_INTO(&___r, (src), a, ##__VA_ARGS__);		\
	___r;								\
})
#define BPF_CORE_READ_USER(src, a, ...) ({				\
	___bpf_chain_type((src), a, ##__VA_ARGS__) ___r;		\
	BPF_CORE_READ_USER_INTO(&___r, (src), a, ##__VA_ARGS__);	\
	___r;								\
})
#define BPF_PROBE_READ(src, a, ...) ({					\
	___bpf_chain_type((src), a, ##__VA_ARGS__) ___r;		\
	BPF_PROBE_READ_INTO(&___r, (src), a, ##__VA_ARGS__);		\
	___r;								\
})
#define BPF_PROBE_READ_USER(src, a, ...) ({				\
	___bpf_chain_type((src), a, ##__VA_ARGS__) ___r;		\
	BPF_PROBE_READ_USER_INTO(&___r, (src), a, ##__VA_ARGS__);	\
	___r;								\
})

#endif /* __BPF_CORE_READ_H__ */
