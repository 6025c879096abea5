// SPDX-License-Identifier: GPL-2.0
/* stackcount: count the stacks that lead to an event (a tracepoint or a
 * uprobe), by (process, user stack, kernel stack). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"

const volatile __u32 target_tgid = 0;
const volatile bool user_stacks = true;
const volatile bool kernel_stacks = true;
const volatile bool per_pid = false;

STACKS(stacks, __u64, 16384, 0);

HASH(counts, struct stack_key, __u64, 65536);

static __always_inline int count(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct stack_key key = {};

	if (target_tgid && tgid != target_tgid)
		return 0;
	key.pid = tgid;	/* always: user stacks need their process to be symbolized */
	key.tid = tgid;
	if (per_pid)	/* the name splits the counts by process in the output */
		bpf_get_current_comm(&key.comm, sizeof(key.comm));
	key.user_stack_id = user_stacks ? bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK) : -1;
	key.kernel_stack_id = kernel_stacks ? bpf_get_stackid(ctx, &stacks, 0) : -1;
	count_add(&counts, &key, 1);
	return 0;
}

SEC("uprobe")
int stackcount_uprobe(struct pt_regs *ctx)
{
	return count(ctx);
}

SEC("tracepoint")
int stackcount_tracepoint(void *ctx)
{
	return count(ctx);
}

char LICENSE[] SEC("license") = "GPL";
