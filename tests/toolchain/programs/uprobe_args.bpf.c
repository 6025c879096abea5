// SPDX-License-Identifier: GPL-2.0
/* User-space probes on libc functions: arguments through BPF_UPROBE (six of
 * them, from registers), return values through BPF_URETPROBE, and the first
 * one read by hand with PT_REGS_PARM1(_CORE). Built against vmlinux.h (kernel pt_regs names);
 * with -DUSE_UAPI_PTREGS against <asm/ptrace.h> (user pt_regs names). */
#ifdef USE_UAPI_PTREGS
#include <linux/bpf.h>
#include <linux/ptrace.h>
#else
#include "vmlinux.h"
#endif
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

const volatile int target_tgid = 0;

long args_seen[6] = {};
long ret_seen = 0;
long manual_first = 0;
unsigned long ip_seen = 0;
__u64 calls = 0;

static __always_inline int mine(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

SEC("uprobe")
int BPF_UPROBE(on_call, long a, long b, long c, long d, long e, long f)
{
	if (!mine())
		return 0;
	args_seen[0] = a;
	args_seen[1] = b;
	args_seen[2] = c;
	args_seen[3] = d;
	args_seen[4] = e;
	args_seen[5] = f;
#ifdef USE_UAPI_PTREGS
	/* user pt_regs field names do not exist in kernel BTF: no CO-RE here */
	manual_first = PT_REGS_PARM1(ctx);
#else
	manual_first = PT_REGS_PARM1_CORE(ctx);
#endif
	ip_seen = PT_REGS_IP(ctx);
	calls++;
	return 0;
}

SEC("uretprobe")
int BPF_URETPROBE(on_return, long ret)
{
	if (mine())
		ret_seen = ret;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
