/* SPDX-License-Identifier: Apache-2.0 */
/* <bpf/usdt.bpf.h> of the ebpf Python package: USDT (user statically defined
 * tracepoint) argument access for uprobe programs attached at USDT sites.
 *
 * The loader describes each attach site with a spec in the __bpf_usdt_specs
 * array: where each argument lives (a constant, a register, or memory at a
 * register plus offset), its size and signedness. The program finds its spec by
 * the BPF cookie of the attachment (Linux 5.15+), or else by instruction
 * pointer through __bpf_usdt_ip_to_spec_id. The map names and record layout
 * are the ones libbpf-based loaders use, so the same objects work with both. */
#ifndef __USDT_BPF_H__
#define __USDT_BPF_H__

#include "bpf_helpers.h"
#include "bpf_tracing.h"

#ifndef BPF_USDT_MAX_SPEC_CNT
#define BPF_USDT_MAX_SPEC_CNT 256
#endif
#ifndef BPF_USDT_MAX_IP_CNT
#define BPF_USDT_MAX_IP_CNT (4 * BPF_USDT_MAX_SPEC_CNT)
#endif
#define BPF_USDT_MAX_ARG_CNT 12

enum __bpf_usdt_arg_type {
	BPF_USDT_ARG_CONST,		/* value = val_off */
	BPF_USDT_ARG_REG,		/* value = register at reg_off in pt_regs */
	BPF_USDT_ARG_REG_DEREF,		/* value = *(register + val_off), user memory */
};

/* 16 bytes per argument */
struct __bpf_usdt_arg_spec {
	__u64 val_off;
	enum __bpf_usdt_arg_type arg_type;
	short reg_off;
	_Bool arg_signed;
	/* 64 - 8 * size: shift left then right to truncate / sign-extend */
	char arg_bitshift;
};

struct __bpf_usdt_spec {
	struct __bpf_usdt_arg_spec args[BPF_USDT_MAX_ARG_CNT];
	__u64 usdt_cookie;
	short arg_cnt;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BPF_USDT_MAX_SPEC_CNT);
	__type(key, int);
	__type(value, struct __bpf_usdt_spec);
} __bpf_usdt_specs SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BPF_USDT_MAX_IP_CNT);
	__type(key, long);
	__type(value, __u32);
} __bpf_usdt_ip_to_spec_id SEC(".maps") __weak;

/* a virtual Kconfig value supplied by the loader */
extern const _Bool LINUX_HAS_BPF_COOKIE __kconfig;

#define __EBPF_ENOENT 2
#define __EBPF_ESRCH 3
#define __EBPF_E2BIG 7
#define __EBPF_EINVAL 22

/* id of the spec for this hit, or a negative errno */
static __always_inline int __bpf_usdt_spec_id(struct pt_regs *ctx)
{
	if (!LINUX_HAS_BPF_COOKIE) {
		long ip = PT_REGS_IP(ctx);
		int *id = bpf_map_lookup_elem(&__bpf_usdt_ip_to_spec_id, &ip);

		return id ? *id : -__EBPF_ESRCH;
	}
	return bpf_get_attach_cookie(ctx);
}

/* number of arguments of the USDT site that fired, or a negative errno */
static __always_inline int bpf_usdt_arg_cnt(struct pt_regs *ctx)
{
	struct __bpf_usdt_spec *spec;
	int id = __bpf_usdt_spec_id(ctx);

	if (id < 0)
		return -__EBPF_ESRCH;
	spec = bpf_map_lookup_elem(&__bpf_usdt_specs, &id);
	if (!spec)
		return -__EBPF_ESRCH;
	return spec->arg_cnt;
}

/* argument arg_num (0-based) into *res; 0 or a negative errno */
static __always_inline int bpf_usdt_arg(struct pt_regs *ctx, __u64 arg_num, long *res)
{
	struct __bpf_usdt_spec *spec;
	struct __bpf_usdt_arg_spec *arg;
	unsigned long val;
	int id, err;

	*res = 0;
	id = __bpf_usdt_spec_id(ctx);
	if (id < 0)
		return -__EBPF_ESRCH;
	spec = bpf_map_lookup_elem(&__bpf_usdt_specs, &id);
	if (!spec)
		return -__EBPF_ESRCH;
	if (arg_num >= BPF_USDT_MAX_ARG_CNT)
		return -__EBPF_ENOENT;
	barrier_var(arg_num);
	if (arg_num >= (__u64)spec->arg_cnt)
		return -__EBPF_ENOENT;
	arg = &spec->args[arg_num];
	switch (arg->arg_type) {
	case BPF_USDT_ARG_CONST:
		val = arg->val_off;
		break;
	case BPF_USDT_ARG_REG:
		err = bpf_probe_read_kernel(&val, sizeof(val), (void *)ctx + arg->reg_off);
		if (err)
			return err;
		break;
	case BPF_USDT_ARG_REG_DEREF:
		err = bpf_probe_read_kernel(&val, sizeof(val), (void *)ctx + arg->reg_off);
		if (err)
			return err;
		err = bpf_probe_read_user(&val, sizeof(val), (void *)val + arg->val_off);
		if (err)
			return err;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		val >>= arg->arg_bitshift;
#endif
		break;
	default:
		return -__EBPF_EINVAL;
	}
	val <<= arg->arg_bitshift;
	if (arg->arg_signed)
		val = ((long)val) >> arg->arg_bitshift;
	else
		val = val >> arg->arg_bitshift;
	*res = val;
	return 0;
}

/* the cookie user space gave when attaching this USDT (not the BPF cookie) */
static __always_inline long bpf_usdt_cookie(struct pt_regs *ctx)
{
	struct __bpf_usdt_spec *spec;
	int id = __bpf_usdt_spec_id(ctx);

	if (id < 0)
		return 0;
	spec = bpf_map_lookup_elem(&__bpf_usdt_specs, &id);
	if (!spec)
		return 0;
	return spec->usdt_cookie;
}

/* int BPF_USDT(name, int a, const char *b) { ... }: USDT arguments as parameters */
#define ___bpf_usdt_arg(n) ({ long ___v = 0; bpf_usdt_arg(ctx, n, &___v); ___v; })
#define ___bpf_usdt_args0() ctx
#define ___bpf_usdt_args1(x) ___bpf_usdt_args0(), (void *)___bpf_usdt_arg(0)
#define ___bpf_usdt_args2(x, args...) ___bpf_usdt_args1(args), (void *)___bpf_usdt_arg(1)
#define ___bpf_usdt_args3(x, args...) ___bpf_usdt_args2(args), (void *)___bpf_usdt_arg(2)
#define ___bpf_usdt_args4(x, args...) ___bpf_usdt_args3(args), (void *)___bpf_usdt_arg(3)
#define ___bpf_usdt_args5(x, args...) ___bpf_usdt_args4(args), (void *)___bpf_usdt_arg(4)
#define ___bpf_usdt_args6(x, args...) ___bpf_usdt_args5(args), (void *)___bpf_usdt_arg(5)
#define ___bpf_usdt_args7(x, args...) ___bpf_usdt_args6(args), (void *)___bpf_usdt_arg(6)
#define ___bpf_usdt_args8(x, args...) ___bpf_usdt_args7(args), (void *)___bpf_usdt_arg(7)
#define ___bpf_usdt_args9(x, args...) ___bpf_usdt_args8(args), (void *)___bpf_usdt_arg(8)
#define ___bpf_usdt_args10(x, args...) ___bpf_usdt_args9(args), (void *)___bpf_usdt_arg(9)
#define ___bpf_usdt_args11(x, args...) ___bpf_usdt_args10(args), (void *)___bpf_usdt_arg(10)
#define ___bpf_usdt_args12(x, args...) ___bpf_usdt_args11(args), (void *)___bpf_usdt_arg(11)
#define ___bpf_usdt_args(args...) ___bpf_apply(___bpf_usdt_args, ___bpf_narg(args))(args)

#define BPF_USDT(name, args...)						\
	___ebpf_wrapped_prog(struct pt_regs *, name, ___bpf_usdt_args, ##args)

#endif /* __USDT_BPF_H__ */
