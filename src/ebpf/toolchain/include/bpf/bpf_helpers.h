/* SPDX-License-Identifier: Apache-2.0 */
/* <bpf/bpf_helpers.h> of the ebpf Python package: the libbpf-compatible core
 * header for BPF programs (section and map-definition macros, attributes,
 * printk, tail calls, loops) plus every helper from bpf_helper_defs.h. */
#ifndef __BPF_HELPERS__
#define __BPF_HELPERS__

/* The UAPI fixed-width types the helper prototypes use. Identical typedefs may
 * be repeated in C11, so this coexists with <linux/types.h> and vmlinux.h. */
typedef unsigned char __u8;
typedef signed char __s8;
typedef unsigned short __u16;
typedef short __s16;
typedef unsigned int __u32;
typedef int __s32;
typedef unsigned long long __u64;
typedef long long __s64;
typedef __u16 __be16;
typedef __u16 __le16;
typedef __u32 __be32;
typedef __u32 __le32;
typedef __u64 __be64;
typedef __u64 __le64;
typedef __u32 __wsum;

#include "ebpf_args.h"
#include "bpf_helper_defs.h"

/* ---- BTF-defined maps ------------------------------------------------- */
/* struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, u32); ... } m SEC(".maps");
 * Integers are carried by the array length of a pointer-to-array member, types
 * by the pointee of a pointer member: both survive in BTF, no storage is used. */
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]
#define __ulong(name, val) enum { ___bpf_concat(__ebpf_ulong_, __COUNTER__) = val } name

/* the "pinning" attribute of a map */
enum libbpf_pin_type {
	LIBBPF_PIN_NONE,
	LIBBPF_PIN_BY_NAME,
};

/* tristate Kconfig values seen through __kconfig externs */
enum libbpf_tristate {
	TRI_NO = 0,
	TRI_YES = 1,
	TRI_MODULE = 2,
};

/* ---- sections and attributes ------------------------------------------ */
#define SEC(name) __attribute__((section(name), used))

/* <linux/stddef.h> defines a plain __inline__ version: replace it */
#undef __always_inline
#define __always_inline inline __attribute__((always_inline))
#ifndef __noinline
#define __noinline __attribute__((noinline))
#endif
#ifndef __weak
#define __weak __attribute__((weak))
#endif
#define __hidden __attribute__((visibility("hidden")))

/* externs resolved by the loader: Kconfig values and kernel symbols */
#define __kconfig __attribute__((section(".kconfig")))
#define __ksym __attribute__((section(".ksyms")))

/* BTF type and declaration tags understood by the verifier */
#define __kptr_untrusted __attribute__((btf_type_tag("kptr_untrusted")))
#define __kptr __attribute__((btf_type_tag("kptr")))
#define __percpu_kptr __attribute__((btf_type_tag("percpu_kptr")))
#define __uptr __attribute__((btf_type_tag("uptr")))
#define __contains(name, node) __attribute__((btf_decl_tag("contains:" #name ":" #node)))
#define __arg_ctx __attribute__((btf_decl_tag("arg:ctx")))
#define __arg_nonnull __attribute__((btf_decl_tag("arg:nonnull")))
#define __arg_nullable __attribute__((btf_decl_tag("arg:nullable")))
#define __arg_trusted __attribute__((btf_decl_tag("arg:trusted")))
#define __arg_untrusted __attribute__((btf_decl_tag("arg:untrusted")))
#define __arg_arena __attribute__((btf_decl_tag("arg:arena")))

#ifndef __stringify
#define ___ebpf_stringify(x) #x
#define __stringify(x) ___ebpf_stringify(x)
#endif

#ifndef likely
#define likely(x) (__builtin_expect(!!(x), 1))
#endif
#ifndef unlikely
#define unlikely(x) (__builtin_expect(!!(x), 0))
#endif

#ifndef offsetof
#define offsetof(type, member) __builtin_offsetof(type, member)
#endif
#ifndef container_of
#define container_of(ptr, type, member)					\
	({								\
		void *__ebpf_mptr = (void *)(ptr);				\
		((type *)(__ebpf_mptr - offsetof(type, member)));		\
	})
#endif

#ifndef NULL
#define NULL ((void *)0)
#endif

/* compiler barriers */
#ifndef barrier
#define barrier() asm volatile("" ::: "memory")
#endif
/* make the compiler forget what it knows about a variable's value */
#ifndef barrier_var
#define barrier_var(var) asm volatile("" : "+r"(var))
#endif
/* keep a value alive (and opaque) without using it */
#ifndef __sink
#define __sink(expr) asm volatile("" : : "g"(expr))
#endif
#ifndef __bpf_unreachable
#define __bpf_unreachable() __builtin_trap()
#endif

#define KERNEL_VERSION(a, b, c) (((a) << 16) + ((b) << 8) + ((c) > 255 ? 255 : (c)))

/* ---- tail calls ------------------------------------------------------- */
/* A tail call whose index is a compile-time constant, emitted so the verifier
 * can see the constant (and the JIT can patch a direct jump). */
#if __clang_major__ >= 8 && defined(__bpf__)
static __always_inline void
bpf_tail_call_static(void *ctx, const void *map, const __u32 slot)
{
	if (!__builtin_constant_p(slot))
		__bpf_unreachable();
	asm volatile("r1 = %[ctx]\n\t"
		     "r2 = %[map]\n\t"
		     "r3 = %[slot]\n\t"
		     "call 12"
		     : : [ctx] "r"(ctx), [map] "r"(map), [slot] "i"(slot)
		     : "r0", "r1", "r2", "r3", "r4", "r5");
}
#else
/* other compilers: an ordinary tail call (same effect, index checked at run time) */
#define bpf_tail_call_static(ctx, map, slot) bpf_tail_call((ctx), (void *)(map), (slot))
#endif

/* ---- printk ----------------------------------------------------------- */
/* bpf_printk("fmt", args...): up to 3 arguments go through bpf_trace_printk,
 * more through bpf_trace_vprintk (Linux 5.16+). The format lives in .rodata. */
/* Programs for kernels without global data (before 5.2) define
 * BPF_NO_GLOBAL_DATA: the format string is then built on the stack. */
#ifdef BPF_NO_GLOBAL_DATA
#define BPF_PRINTK_FMT_MOD
#else
#define BPF_PRINTK_FMT_MOD static const
#endif

#define __bpf_printk(fmt, ...)						\
	({								\
		BPF_PRINTK_FMT_MOD char ____fmt[] = fmt;		\
		bpf_trace_printk(____fmt, sizeof(____fmt), ##__VA_ARGS__); \
	})

/* CALL, with the format FMT in ___fmt and ARGS packed into the u64 array
 * ___param: how bpf_trace_vprintk, bpf_snprintf and bpf_seq_printf take them */
#define ___bpf_with_params(fmt, call, args...)				\
	({								\
		static const char ___fmt[] = fmt;			\
		unsigned long long ___param[___bpf_narg(args)];		\
		_Pragma("GCC diagnostic push")				\
		_Pragma("GCC diagnostic ignored \"-Wint-conversion\"")	\
		___bpf_fill(___param, args);				\
		_Pragma("GCC diagnostic pop")				\
		call;							\
	})

#define __bpf_vprintk(fmt, args...)					\
	___bpf_with_params(fmt, bpf_trace_vprintk(___fmt, sizeof(___fmt), ___param,	\
						  sizeof(___param)), ##args)

#define ___bpf_pick_printk(...)						\
	___bpf_nth(_, ##__VA_ARGS__, __bpf_vprintk, __bpf_vprintk,	\
		   __bpf_vprintk, __bpf_vprintk, __bpf_vprintk,		\
		   __bpf_vprintk, __bpf_vprintk, __bpf_vprintk,		\
		   __bpf_vprintk, __bpf_printk, __bpf_printk, __bpf_printk, \
		   __bpf_printk)

#define bpf_printk(fmt, args...) ___bpf_pick_printk(args)(fmt, ##args)

/* BPF_SNPRINTF(out, out_size, "fmt", args...) over bpf_snprintf (Linux 5.13+) */
#define BPF_SNPRINTF(out, out_size, fmt, args...)			\
	___bpf_with_params(fmt, bpf_snprintf(out, out_size, ___fmt, ___param,	\
					     sizeof(___param)), ##args)

/* ---- kernel symbols and kfuncs ---------------------------------------- */
/* true when a __weak __ksym (variable or kfunc) was found in the kernel */
#ifdef __clang__
#define bpf_ksym_exists(sym)						\
	({								\
		_Static_assert(!__builtin_constant_p(!!sym),		\
			       #sym " should be declared __weak");	\
		!!sym;							\
	})
#else
#define bpf_ksym_exists(sym) (!!(sym))
#endif

/* ---- loops over open-coded iterators (Linux 6.4+) -------------------- */
/* struct bpf_iter_num comes from vmlinux.h (or a new enough linux/bpf.h). */
struct bpf_iter_num;
extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __weak __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __weak __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __weak __ksym;

/* bpf_for_each(num, cur, start, end) { ... }: iterate with any bpf_iter_<type> */
#ifndef bpf_for_each
#define bpf_for_each(type, cur, args...)					\
	for (struct bpf_iter_##type ___it					\
		__attribute__((aligned(8), cleanup(bpf_iter_##type##_destroy))), \
	     *___p __attribute__((unused)) = (				\
		bpf_iter_##type##_new(&___it, ##args),			\
		(void)bpf_iter_##type##_destroy, (void *)0);		\
	     (((cur) = bpf_iter_##type##_next(&___it)));		\
	)
#endif

/* bpf_for(i, start, end): i takes start..end-1, in a form the verifier bounds */
#ifndef bpf_for
#define bpf_for(i, start, end)						\
	for (struct bpf_iter_num ___it					\
		__attribute__((aligned(8), cleanup(bpf_iter_num_destroy))), \
	     *___p __attribute__((unused)) = (				\
		bpf_iter_num_new(&___it, (start), (end)),			\
		(void)bpf_iter_num_destroy, (void *)0);			\
	     ({								\
		int *___n = bpf_iter_num_next(&___it);			\
		(___n && ((i) = *___n, (i) >= (start) && (i) < (end)));	\
	     });							\
	)
#endif

/* bpf_repeat(n): run the body n times */
#ifndef bpf_repeat
#define bpf_repeat(n)							\
	for (struct bpf_iter_num ___it					\
		__attribute__((aligned(8), cleanup(bpf_iter_num_destroy))), \
	     *___p __attribute__((unused)) = (				\
		bpf_iter_num_new(&___it, 0, (n)),			\
		(void)bpf_iter_num_destroy, (void *)0);			\
	     bpf_iter_num_next(&___it);					\
	)
#endif

#endif /* __BPF_HELPERS__ */
