// SPDX-License-Identifier: GPL-2.0
/* offcputime: time threads spend blocked (off CPU), summed by stack. At each
 * context switch the thread leaving the CPU has its stacks and a timestamp
 * saved; when it runs again, the time in between is added to those stacks. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "tools.h"

struct start_t {
	__u64 ts;
	struct stack_key key;
};

const volatile __u32 target_tgid = 0;
const volatile __u32 target_tid = 0;
const volatile bool user_stacks = true;
const volatile bool kernel_stacks = true;
const volatile bool user_threads_only = false;
const volatile bool kernel_threads_only = false;
const volatile __u64 min_block_ns = 1;
const volatile __u64 max_block_ns = ~0ULL;
const volatile long state = -1;	/* -1: any state; else only threads leaving in this state */
const volatile bool per_thread = false;

STACKS(stacks, __u64, 16384, 0);

HASH(start, __u32, struct start_t, 65536);

HASH(counts, struct stack_key, __u64, 65536);

static __always_inline bool wanted(struct task_struct *t)
{
	__u32 tgid = t->tgid, tid = t->pid;

	if (tid == 0)
		return false;
	if (target_tgid && tgid != target_tgid)
		return false;
	if (target_tid && tid != target_tid)
		return false;
	if (user_threads_only && (t->flags & 0x00200000 /* PF_KTHREAD */))
		return false;
	if (kernel_threads_only && !(t->flags & 0x00200000))
		return false;
	if (state != -1 && t->__state != state)
		return false;
	return true;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 tid = prev->pid;
	struct start_t *s, snew = {};
	__u64 now = bpf_ktime_get_ns(), delta;

	/* the thread going off CPU: remember when, and where (its stacks are current) */
	if (wanted(prev)) {
		snew.ts = now;
		snew.key.pid = prev->tgid;
		snew.key.tid = per_thread ? tid : prev->tgid;
		bpf_probe_read_kernel_str(&snew.key.comm, sizeof(snew.key.comm), prev->comm);
		snew.key.user_stack_id = user_stacks ?
			bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK) : -1;
		snew.key.kernel_stack_id = kernel_stacks ? bpf_get_stackid(ctx, &stacks, 0) : -1;
		bpf_map_update_elem(&start, &tid, &snew, BPF_ANY);
	}
	/* the thread coming back on CPU: add the time it was away */
	tid = next->pid;
	s = bpf_map_lookup_elem(&start, &tid);
	if (!s)
		return 0;
	delta = now - s->ts;
	if (s->ts && delta >= min_block_ns && delta <= max_block_ns)
		count_add(&counts, &s->key, delta);
	bpf_map_delete_elem(&start, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
