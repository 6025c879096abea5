// SPDX-License-Identifier: GPL-2.0
/* killsnoop: kill(), tkill() and tgkill() calls: sender, signal, target, result. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"

struct event {
	__u32 pid;
	__u32 tpid;
	__s32 sig;
	__s32 ret;
	__u32 call;	/* 0 kill, 1 tkill, 2 tgkill */
	char comm[TASK_COMM_LEN];
};

const volatile __u32 target_pid = 0;
const volatile __s32 target_signal = 0;
const volatile bool failed_only = 0;

HASH(values, __u32, struct event, 10240);

EVENTS(struct event, 256 * 1024);

static __always_inline int enter(__u32 call, __u32 tpid, __s32 sig)
{
	struct event e = { .tpid = tpid, .sig = sig, .call = call };

	if (target_signal && sig != target_signal)
		return 0;
	e.pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	return thread_save(&values, &e, target_pid);
}

static __always_inline int leave(long ret)
{
	__u64 id;
	struct event *e = thread_entry(&values, &id);

	if (!e)
		return 0;
	e->ret = ret;
	if (!failed_only || ret < 0)
		bpf_ringbuf_output(&events, e, sizeof(*e), 0);
	thread_drop(&values, id);
	return 0;
}

SYSCALL_HOOKS(kill, kill, enter(0, ctx->args[0], ctx->args[1]), leave(ctx->ret))
SYSCALL_HOOKS(tkill, tkill, enter(1, ctx->args[0], ctx->args[1]), leave(ctx->ret))
SYSCALL_HOOKS(tgkill, tgkill, enter(2, ctx->args[1], ctx->args[2]), leave(ctx->ret))

char LICENSE[] SEC("license") = "GPL";
