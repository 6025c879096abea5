/* SPDX-License-Identifier: Apache-2.0 */
/* <bpf/bpf_tracing.h> of the ebpf Python package: probe argument access
 * (PT_REGS_*) for each architecture, selected by __TARGET_ARCH_<arch>, and the
 * BPF_PROG / BPF_KPROBE / BPF_UPROBE / BPF_KSYSCALL function wrappers that give
 * probe handlers typed parameters. */
#ifndef __BPF_TRACING_H__
#define __BPF_TRACING_H__

#include "bpf_helpers.h"
#include "bpf_core_read.h"

/* no arch given: guess from the compiler running the build (zig/clang define
 * the *target* arch as bpf, so this only helps with an explicit host define) */
#if !defined(__TARGET_ARCH_x86) && !defined(__TARGET_ARCH_arm64) &&	\
    !defined(__TARGET_ARCH_s390) && !defined(__TARGET_ARCH_riscv) &&	\
    !defined(__TARGET_ARCH_arm) && !defined(__TARGET_ARCH_powerpc) &&	\
    !defined(__TARGET_ARCH_mips) && !defined(__TARGET_ARCH_loongarch) &&	\
    !defined(__TARGET_ARCH_sparc)
# if defined(__x86_64__)
#  define __TARGET_ARCH_x86
# elif defined(__aarch64__)
#  define __TARGET_ARCH_arm64
# elif defined(__s390__)
#  define __TARGET_ARCH_s390
# elif defined(__riscv)
#  define __TARGET_ARCH_riscv
# endif
#endif

/* bpf_target_<arch> / bpf_target_defined, for programs that test them */
#if defined(__TARGET_ARCH_x86)
# define bpf_target_x86
# define bpf_target_defined
#elif defined(__TARGET_ARCH_arm64)
# define bpf_target_arm64
# define bpf_target_defined
#elif defined(__TARGET_ARCH_s390)
# define bpf_target_s390
# define bpf_target_defined
#elif defined(__TARGET_ARCH_riscv)
# define bpf_target_riscv
# define bpf_target_defined
#elif defined(__TARGET_ARCH_arm)
# define bpf_target_arm
# define bpf_target_defined
#elif defined(__TARGET_ARCH_powerpc)
# define bpf_target_powerpc
# define bpf_target_defined
#elif defined(__TARGET_ARCH_mips)
# define bpf_target_mips
# define bpf_target_defined
#elif defined(__TARGET_ARCH_loongarch)
# define bpf_target_loongarch
# define bpf_target_defined
#endif

/* Register names per architecture. __PT_PARMn_REG: argument n of a traced
 * function; _SYSCALL variants where a syscall's entry differs. */
#if defined(__TARGET_ARCH_x86)

# define __ebpf_pt_regs_arch_known 1
# if defined(__KERNEL__) || defined(__VMLINUX_H__)
/* kernel's struct pt_regs (vmlinux.h) */
#  define __PT_PARM1_REG di
#  define __PT_PARM2_REG si
#  define __PT_PARM3_REG dx
#  define __PT_PARM4_REG cx
#  define __PT_PARM5_REG r8
#  define __PT_PARM6_REG r9
#  define __PT_RET_REG sp
#  define __PT_FP_REG bp
#  define __PT_RC_REG ax
#  define __PT_SP_REG sp
#  define __PT_IP_REG ip
#  define __PT_PARM4_SYSCALL_REG r10
# else
/* the UAPI struct pt_regs of <asm/ptrace.h> */
#  define __PT_PARM1_REG rdi
#  define __PT_PARM2_REG rsi
#  define __PT_PARM3_REG rdx
#  define __PT_PARM4_REG rcx
#  define __PT_PARM5_REG r8
#  define __PT_PARM6_REG r9
#  define __PT_RET_REG rsp
#  define __PT_FP_REG rbp
#  define __PT_RC_REG rax
#  define __PT_SP_REG rsp
#  define __PT_IP_REG rip
#  define __PT_PARM4_SYSCALL_REG r10
# endif

#elif defined(__TARGET_ARCH_arm64)

# define __ebpf_pt_regs_arch_known 1
/* struct pt_regs begins with struct user_pt_regs { regs[31], sp, pc, pstate } */
# define __PT_REGS_CAST(x) ((const struct user_pt_regs *)(x))
# define __PT_PARM1_REG regs[0]
# define __PT_PARM2_REG regs[1]
# define __PT_PARM3_REG regs[2]
# define __PT_PARM4_REG regs[3]
# define __PT_PARM5_REG regs[4]
# define __PT_PARM6_REG regs[5]
# define __PT_PARM7_REG regs[6]
# define __PT_PARM8_REG regs[7]
# define __PT_RET_REG regs[30]
# define __PT_FP_REG regs[29]
# define __PT_RC_REG regs[0]
# define __PT_SP_REG sp
# define __PT_IP_REG pc
/* a syscall's first argument survives in orig_x0 (kernel pt_regs only) */
struct pt_regs___ebpf_arm64 {
	unsigned long orig_x0;
} __attribute__((preserve_access_index));
# define __PT_SYSCALL_REGS pt_regs___ebpf_arm64
# define __PT_PARM1_SYSCALL_REG orig_x0

#elif defined(__TARGET_ARCH_s390)

# define __ebpf_pt_regs_arch_known 1
# define __PT_REGS_CAST(x) ((const user_pt_regs *)(x))
# define __PT_PARM1_REG gprs[2]
# define __PT_PARM2_REG gprs[3]
# define __PT_PARM3_REG gprs[4]
# define __PT_PARM4_REG gprs[5]
# define __PT_PARM5_REG gprs[6]
# define __PT_RET_REG gprs[14]
# define __PT_FP_REG gprs[11]
# define __PT_RC_REG gprs[2]
# define __PT_SP_REG gprs[15]
# define __PT_IP_REG psw.addr
struct pt_regs___ebpf_s390 {
	unsigned long orig_gpr2;
} __attribute__((preserve_access_index));
# define __PT_SYSCALL_REGS pt_regs___ebpf_s390
# define __PT_PARM1_SYSCALL_REG orig_gpr2

#elif defined(__TARGET_ARCH_riscv)

# define __ebpf_pt_regs_arch_known 1
/* kernel struct pt_regs starts like struct user_regs_struct (pc first) */
# define __PT_REGS_CAST(x) ((const struct user_regs_struct *)(x))
# define __PT_PARM1_REG a0
# define __PT_PARM2_REG a1
# define __PT_PARM3_REG a2
# define __PT_PARM4_REG a3
# define __PT_PARM5_REG a4
# define __PT_PARM6_REG a5
# define __PT_PARM7_REG a6
# define __PT_PARM8_REG a7
# define __PT_RET_REG ra
# define __PT_FP_REG s0
# define __PT_RC_REG a0
# define __PT_SP_REG sp
# define __PT_IP_REG pc

#endif

#ifdef __ebpf_pt_regs_arch_known

#ifndef __PT_REGS_CAST
# define __PT_REGS_CAST(x) (x)
#endif

struct pt_regs;

#define PT_REGS_PARM1(x) (__PT_REGS_CAST(x)->__PT_PARM1_REG)
#define PT_REGS_PARM2(x) (__PT_REGS_CAST(x)->__PT_PARM2_REG)
#define PT_REGS_PARM3(x) (__PT_REGS_CAST(x)->__PT_PARM3_REG)
#define PT_REGS_PARM4(x) (__PT_REGS_CAST(x)->__PT_PARM4_REG)
#define PT_REGS_PARM5(x) (__PT_REGS_CAST(x)->__PT_PARM5_REG)
#define PT_REGS_RET(x) (__PT_REGS_CAST(x)->__PT_RET_REG)
#define PT_REGS_FP(x) (__PT_REGS_CAST(x)->__PT_FP_REG)
#define PT_REGS_RC(x) (__PT_REGS_CAST(x)->__PT_RC_REG)
#define PT_REGS_SP(x) (__PT_REGS_CAST(x)->__PT_SP_REG)
#define PT_REGS_IP(x) (__PT_REGS_CAST(x)->__PT_IP_REG)

#define PT_REGS_PARM1_CORE(x) BPF_CORE_READ(__PT_REGS_CAST(x), __PT_PARM1_REG)
#define PT_REGS_PARM2_CORE(x) BPF_CORE_READ(__PT_REGS_CAST(x), __PT_PARM2_REG)
#define PT_REGS_PARM3_CORE(x) BPF_CORE_READ(__PT_REGS_CAST(x), __PT_PARM3_REG)
#define PT_REGS_PARM4_CORE(x) BPF_CORE_READ(__PT_REGS_CAST(x), __PT_PARM4_REG)
#define PT_REGS_PARM5_CORE(x) BPF_CORE_READ(__PT_REGS_CAST(x), __PT_PARM5_REG)
#define PT_REGS_RET_CORE(x) BPF_CORE_READ(__PT_REGS_CAST(x), __PT_RET_REG)
#define PT_REGS_FP_CORE(x) BPF_CORE_READ(__PT_REGS_CAST(x), __PT_FP_REG)
#define PT_REGS_RC_CORE(x) BPF_CORE_READ(__PT_REGS_CAST(x), __PT_RC_REG)
#define PT_REGS_SP_CORE(x) BPF_CORE_READ(__PT_REGS_CAST(x), __PT_SP_REG)
#define PT_REGS_IP_CORE(x) BPF_CORE_READ(__PT_REGS_CAST(x), __PT_IP_REG)

#ifdef __PT_PARM6_REG
# define PT_REGS_PARM6(x) (__PT_REGS_CAST(x)->__PT_PARM6_REG)
# define PT_REGS_PARM6_CORE(x) BPF_CORE_READ(__PT_REGS_CAST(x), __PT_PARM6_REG)
#endif
#ifdef __PT_PARM7_REG
# define PT_REGS_PARM7(x) (__PT_REGS_CAST(x)->__PT_PARM7_REG)
# define PT_REGS_PARM7_CORE(x) BPF_CORE_READ(__PT_REGS_CAST(x), __PT_PARM7_REG)
#endif
#ifdef __PT_PARM8_REG
# define PT_REGS_PARM8(x) (__PT_REGS_CAST(x)->__PT_PARM8_REG)
# define PT_REGS_PARM8_CORE(x) BPF_CORE_READ(__PT_REGS_CAST(x), __PT_PARM8_REG)
#endif

/* Syscall arguments, from the pt_regs a syscall entry received (see
 * PT_REGS_SYSCALL_REGS). Only the 4th (x86: r10) and 1st (arm64/s390:
 * orig_x0/orig_gpr2) differ from the function-call registers. */
#if defined(__PT_PARM1_SYSCALL_REG)
# define PT_REGS_PARM1_SYSCALL(x)					\
	({ unsigned long ___v = 0;					\
	   bpf_probe_read_kernel(&___v, sizeof(___v),			\
		__builtin_preserve_access_index(&((const struct __PT_SYSCALL_REGS *)(x))->__PT_PARM1_SYSCALL_REG)); \
	   ___v; })
# define PT_REGS_PARM1_CORE_SYSCALL(x)					\
	BPF_CORE_READ((const struct __PT_SYSCALL_REGS *)(x), __PT_PARM1_SYSCALL_REG)
#elif !defined(PT_REGS_PARM1_SYSCALL)
# define PT_REGS_PARM1_SYSCALL(x) PT_REGS_PARM1(x)
# define PT_REGS_PARM1_CORE_SYSCALL(x) PT_REGS_PARM1_CORE(x)
#endif
#define PT_REGS_PARM2_SYSCALL(x) PT_REGS_PARM2(x)
#define PT_REGS_PARM2_CORE_SYSCALL(x) PT_REGS_PARM2_CORE(x)
#define PT_REGS_PARM3_SYSCALL(x) PT_REGS_PARM3(x)
#define PT_REGS_PARM3_CORE_SYSCALL(x) PT_REGS_PARM3_CORE(x)
#ifdef __PT_PARM4_SYSCALL_REG
# define PT_REGS_PARM4_SYSCALL(x) (__PT_REGS_CAST(x)->__PT_PARM4_SYSCALL_REG)
# define PT_REGS_PARM4_CORE_SYSCALL(x) BPF_CORE_READ(__PT_REGS_CAST(x), __PT_PARM4_SYSCALL_REG)
#else
# define PT_REGS_PARM4_SYSCALL(x) PT_REGS_PARM4(x)
# define PT_REGS_PARM4_CORE_SYSCALL(x) PT_REGS_PARM4_CORE(x)
#endif
#define PT_REGS_PARM5_SYSCALL(x) PT_REGS_PARM5(x)
#define PT_REGS_PARM5_CORE_SYSCALL(x) PT_REGS_PARM5_CORE(x)
#ifdef __PT_PARM6_REG
# define PT_REGS_PARM6_SYSCALL(x) PT_REGS_PARM6(x)
# define PT_REGS_PARM6_CORE_SYSCALL(x) PT_REGS_PARM6_CORE(x)
#endif

/* With the syscall wrappers of modern kernels (x86 4.17+, arm64 4.19+), a
 * __x64_sys_* / __arm64_sys_* entry gets one argument: the user pt_regs. */
#define PT_REGS_SYSCALL_REGS(ctx) ((struct pt_regs *)PT_REGS_PARM1(ctx))

/* return address of a probed function, and of a kretprobe */
#define BPF_KPROBE_READ_RET_IP(ip, ctx)					\
	({ bpf_probe_read_kernel(&(ip), sizeof(ip), (void *)PT_REGS_RET(ctx)); })
#define BPF_KRETPROBE_READ_RET_IP(ip, ctx)				\
	({ bpf_probe_read_kernel(&(ip), sizeof(ip),			\
				 (void *)(PT_REGS_FP(ctx) + sizeof(ip))); })

#else /* unknown or unset __TARGET_ARCH */

# define ___ebpf_no_arch(x) _Static_assert(0, "bpf_tracing.h: define __TARGET_ARCH_<arch> (x86, arm64, s390, riscv) to use PT_REGS_*"), 0l
# define PT_REGS_PARM1(x) ___ebpf_no_arch(x)
# define PT_REGS_PARM2(x) ___ebpf_no_arch(x)
# define PT_REGS_PARM3(x) ___ebpf_no_arch(x)
# define PT_REGS_PARM4(x) ___ebpf_no_arch(x)
# define PT_REGS_PARM5(x) ___ebpf_no_arch(x)
# define PT_REGS_RC(x) ___ebpf_no_arch(x)
# define PT_REGS_IP(x) ___ebpf_no_arch(x)
# define PT_REGS_SP(x) ___ebpf_no_arch(x)
# define PT_REGS_FP(x) ___ebpf_no_arch(x)
# define PT_REGS_RET(x) ___ebpf_no_arch(x)

#endif

/* ---- BPF_PROG: fentry/fexit/tp_btf/raw_tp/lsm/struct_ops handlers -------- */
/* The context is an array of u64, one per argument; each is cast to the
 * declared parameter type. */
#define ___bpf_ctx_cast0() ctx
#define ___bpf_ctx_cast1(x) ___bpf_ctx_cast0(), (void *)ctx[0]
#define ___bpf_ctx_cast2(x, args...) ___bpf_ctx_cast1(args), (void *)ctx[1]
#define ___bpf_ctx_cast3(x, args...) ___bpf_ctx_cast2(args), (void *)ctx[2]
#define ___bpf_ctx_cast4(x, args...) ___bpf_ctx_cast3(args), (void *)ctx[3]
#define ___bpf_ctx_cast5(x, args...) ___bpf_ctx_cast4(args), (void *)ctx[4]
#define ___bpf_ctx_cast6(x, args...) ___bpf_ctx_cast5(args), (void *)ctx[5]
#define ___bpf_ctx_cast7(x, args...) ___bpf_ctx_cast6(args), (void *)ctx[6]
#define ___bpf_ctx_cast8(x, args...) ___bpf_ctx_cast7(args), (void *)ctx[7]
#define ___bpf_ctx_cast9(x, args...) ___bpf_ctx_cast8(args), (void *)ctx[8]
#define ___bpf_ctx_cast10(x, args...) ___bpf_ctx_cast9(args), (void *)ctx[9]
#define ___bpf_ctx_cast11(x, args...) ___bpf_ctx_cast10(args), (void *)ctx[10]
#define ___bpf_ctx_cast12(x, args...) ___bpf_ctx_cast11(args), (void *)ctx[11]
#define ___bpf_ctx_cast(args...) ___bpf_apply(___bpf_ctx_cast, ___bpf_narg(args))(args)

/* int BPF_PROG(name, struct task_struct *p, int x) { ... }
 * declares name(unsigned long long *ctx), which unpacks ctx and calls an
 * always-inlined ____name(ctx, p, x) holding the body written after the macro. */
#define BPF_PROG(name, args...)						\
	___ebpf_wrapped_prog(unsigned long long *, name, ___bpf_ctx_cast, ##args)

/* NAME(CTX_T ctx) calling the always-inlined ____NAME(ctx, ARGS...), whose body is
 * written after the macro, with the arguments EXPAND(ARGS) unpacks from ctx: the
 * shape of BPF_PROG, BPF_KPROBE, BPF_KRETPROBE and BPF_USDT */
#define ___ebpf_wrapped_prog(ctx_t, name, expand, args...)		\
name(ctx_t ctx);							\
static __always_inline typeof(name(0))					\
____##name(ctx_t ctx, ##args);						\
typeof(name(0)) name(ctx_t ctx)						\
{									\
	_Pragma("GCC diagnostic push")					\
	_Pragma("GCC diagnostic ignored \"-Wint-conversion\"")		\
	return ____##name(expand(args));				\
	_Pragma("GCC diagnostic pop")					\
}									\
static __always_inline typeof(name(0))					\
____##name(ctx_t ctx, ##args)

/* BPF_PROG2: like BPF_PROG, but parameters are given as (type, name) pairs so
 * that structs passed by value (up to 16 bytes, two ctx slots) work. */
#define ___bpf_nslots(t) ((sizeof(t) + 7) / 8)
#define ___bpf_union_arg(t, x, n)					\
	__builtin_choose_expr(sizeof(t) == 1, ({ union { __u8 z[1]; t x; } ___t = { .z = {ctx[n]}}; ___t.x; }), \
	__builtin_choose_expr(sizeof(t) == 2, ({ union { __u16 z[1]; t x; } ___t = { .z = {ctx[n]} }; ___t.x; }), \
	__builtin_choose_expr(sizeof(t) == 4, ({ union { __u32 z[1]; t x; } ___t = { .z = {ctx[n]} }; ___t.x; }), \
	__builtin_choose_expr(sizeof(t) == 8, ({ union { __u64 z[1]; t x; } ___t = { .z = {ctx[n]} }; ___t.x; }), \
	__builtin_choose_expr(sizeof(t) == 16, ({ union { __u64 z[2]; t x; } ___t = { .z = {ctx[n], ctx[n + 1]} }; ___t.x; }), \
	(void)0)))))
#define ___bpf_p2_0(n)
#define ___bpf_p2_2(n, t, x) , ___bpf_union_arg(t, x, n)
#define ___bpf_p2_4(n, t, x, args...) , ___bpf_union_arg(t, x, n) ___bpf_p2_2(n + ___bpf_nslots(t), args)
#define ___bpf_p2_6(n, t, x, args...) , ___bpf_union_arg(t, x, n) ___bpf_p2_4(n + ___bpf_nslots(t), args)
#define ___bpf_p2_8(n, t, x, args...) , ___bpf_union_arg(t, x, n) ___bpf_p2_6(n + ___bpf_nslots(t), args)
#define ___bpf_p2_10(n, t, x, args...) , ___bpf_union_arg(t, x, n) ___bpf_p2_8(n + ___bpf_nslots(t), args)
#define ___bpf_p2_12(n, t, x, args...) , ___bpf_union_arg(t, x, n) ___bpf_p2_10(n + ___bpf_nslots(t), args)
#define ___bpf_ctx_cast2_args(args...) ctx ___bpf_apply(___bpf_p2_, ___bpf_narg(args))(0, args)
#define ___bpf_decl0()
#define ___bpf_decl2(t, x) , t x
#define ___bpf_decl4(t, x, args...) , t x ___bpf_decl2(args)
#define ___bpf_decl6(t, x, args...) , t x ___bpf_decl4(args)
#define ___bpf_decl8(t, x, args...) , t x ___bpf_decl6(args)
#define ___bpf_decl10(t, x, args...) , t x ___bpf_decl8(args)
#define ___bpf_decl12(t, x, args...) , t x ___bpf_decl10(args)
#define ___bpf_decl(args...) ___bpf_apply(___bpf_decl, ___bpf_narg(args))(args)

#define BPF_PROG2(name, args...)					\
name(unsigned long long *ctx);						\
static __always_inline typeof(name(0))					\
____##name(unsigned long long *ctx ___bpf_decl(args));			\
typeof(name(0)) name(unsigned long long *ctx)				\
{									\
	return ____##name(___bpf_ctx_cast2_args(args));			\
}									\
static __always_inline typeof(name(0))					\
____##name(unsigned long long *ctx ___bpf_decl(args))

/* ---- BPF_KPROBE / BPF_UPROBE: arguments from pt_regs ------------------- */
#define ___bpf_kprobe_args0() ctx
#define ___bpf_kprobe_args1(x) ___bpf_kprobe_args0(), (void *)PT_REGS_PARM1(ctx)
#define ___bpf_kprobe_args2(x, args...) ___bpf_kprobe_args1(args), (void *)PT_REGS_PARM2(ctx)
#define ___bpf_kprobe_args3(x, args...) ___bpf_kprobe_args2(args), (void *)PT_REGS_PARM3(ctx)
#define ___bpf_kprobe_args4(x, args...) ___bpf_kprobe_args3(args), (void *)PT_REGS_PARM4(ctx)
#define ___bpf_kprobe_args5(x, args...) ___bpf_kprobe_args4(args), (void *)PT_REGS_PARM5(ctx)
#define ___bpf_kprobe_args6(x, args...) ___bpf_kprobe_args5(args), (void *)PT_REGS_PARM6(ctx)
#define ___bpf_kprobe_args7(x, args...) ___bpf_kprobe_args6(args), (void *)PT_REGS_PARM7(ctx)
#define ___bpf_kprobe_args8(x, args...) ___bpf_kprobe_args7(args), (void *)PT_REGS_PARM8(ctx)
#define ___bpf_kprobe_args(args...) ___bpf_apply(___bpf_kprobe_args, ___bpf_narg(args))(args)

/* int BPF_KPROBE(name, struct file *f, int flags) { ... } */
#define BPF_KPROBE(name, args...)					\
	___ebpf_wrapped_prog(struct pt_regs *, name, ___bpf_kprobe_args, ##args)

#define ___bpf_kretprobe_args0() ctx
#define ___bpf_kretprobe_args1(x) ___bpf_kretprobe_args0(), (void *)PT_REGS_RC(ctx)
#define ___bpf_kretprobe_args(args...) ___bpf_apply(___bpf_kretprobe_args, ___bpf_narg(args))(args)

/* int BPF_KRETPROBE(name, long ret) { ... }: at most one parameter, the return value */
#define BPF_KRETPROBE(name, args...)					\
	___ebpf_wrapped_prog(struct pt_regs *, name, ___bpf_kretprobe_args, ##args)

/* user-space probes get their arguments the same way */
#define BPF_UPROBE(name, args...) BPF_KPROBE(name, ##args)
#define BPF_URETPROBE(name, args...) BPF_KRETPROBE(name, ##args)

/* ---- BPF_KSYSCALL: syscall entry probes -------------------------------- */
/* arguments straight from the probe's registers (kernels without wrappers) */
#define ___bpf_syscall_args0() ctx
#define ___bpf_syscall_args1(x) ___bpf_syscall_args0(), (void *)PT_REGS_PARM1_SYSCALL(regs)
#define ___bpf_syscall_args2(x, args...) ___bpf_syscall_args1(args), (void *)PT_REGS_PARM2_SYSCALL(regs)
#define ___bpf_syscall_args3(x, args...) ___bpf_syscall_args2(args), (void *)PT_REGS_PARM3_SYSCALL(regs)
#define ___bpf_syscall_args4(x, args...) ___bpf_syscall_args3(args), (void *)PT_REGS_PARM4_SYSCALL(regs)
#define ___bpf_syscall_args5(x, args...) ___bpf_syscall_args4(args), (void *)PT_REGS_PARM5_SYSCALL(regs)
#define ___bpf_syscall_args6(x, args...) ___bpf_syscall_args5(args), (void *)PT_REGS_PARM6_SYSCALL(regs)
#define ___bpf_syscall_args(args...) ___bpf_apply(___bpf_syscall_args, ___bpf_narg(args))(args)

/* arguments read (probe_read) from the user pt_regs a syscall wrapper received */
#define ___bpf_syswrap_args0() ctx
#define ___bpf_syswrap_args1(x) ___bpf_syswrap_args0(), (void *)PT_REGS_PARM1_CORE_SYSCALL(regs)
#define ___bpf_syswrap_args2(x, args...) ___bpf_syswrap_args1(args), (void *)PT_REGS_PARM2_CORE_SYSCALL(regs)
#define ___bpf_syswrap_args3(x, args...) ___bpf_syswrap_args2(args), (void *)PT_REGS_PARM3_CORE_SYSCALL(regs)
#define ___bpf_syswrap_args4(x, args...) ___bpf_syswrap_args3(args), (void *)PT_REGS_PARM4_CORE_SYSCALL(regs)
#define ___bpf_syswrap_args5(x, args...) ___bpf_syswrap_args4(args), (void *)PT_REGS_PARM5_CORE_SYSCALL(regs)
#define ___bpf_syswrap_args6(x, args...) ___bpf_syswrap_args5(args), (void *)PT_REGS_PARM6_CORE_SYSCALL(regs)
#define ___bpf_syswrap_args(args...) ___bpf_apply(___bpf_syswrap_args, ___bpf_narg(args))(args)

/* int BPF_KSYSCALL(name, int fd, const char *path) { ... } for SEC("ksyscall/openat").
 * LINUX_HAS_SYSCALL_WRAPPER is a virtual Kconfig value the loader supplies. */
#define BPF_KSYSCALL(name, args...)					\
name(struct pt_regs *ctx);						\
extern _Bool LINUX_HAS_SYSCALL_WRAPPER __kconfig;			\
static __always_inline typeof(name(0))					\
____##name(struct pt_regs *ctx, ##args);				\
typeof(name(0)) name(struct pt_regs *ctx)				\
{									\
	struct pt_regs *regs = LINUX_HAS_SYSCALL_WRAPPER		\
			       ? (struct pt_regs *)PT_REGS_PARM1(ctx)	\
			       : ctx;					\
	_Pragma("GCC diagnostic push")					\
	_Pragma("GCC diagnostic ignored \"-Wint-conversion\"")		\
	if (LINUX_HAS_SYSCALL_WRAPPER)					\
		return ____##name(___bpf_syswrap_args(args));		\
	else								\
		return ____##name(___bpf_syscall_args(args));		\
	_Pragma("GCC diagnostic pop")					\
}									\
static __always_inline typeof(name(0))					\
____##name(struct pt_regs *ctx, ##args)

#define BPF_KPROBE_SYSCALL BPF_KSYSCALL

/* ---- seq_file output for BPF iterators (Linux 5.7+) -------------------- */
#define BPF_SEQ_PRINTF(seq, fmt, args...)				\
	___bpf_with_params(fmt, bpf_seq_printf(seq, ___fmt, sizeof(___fmt), ___param,	\
					       sizeof(___param)), ##args)

#endif /* __BPF_TRACING_H__ */
