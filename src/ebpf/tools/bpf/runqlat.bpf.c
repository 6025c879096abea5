// SPDX-License-Identifier: GPL-2.0
/* runqlat: run queue (scheduler) latency: from wakeup, or from being preempted
 * while runnable, to running again; log2 histograms. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"
#include "sched.h"

static __always_inline int enqueue(struct task_struct *p)
{
	if (wanted(p))
		stamp(p, bpf_ktime_get_ns());
	return 0;
}

static __always_inline int on_wakeup(struct task_struct *p)
{
	return enqueue(p);
}

static __always_inline int on_switch(struct task_struct *prev, struct task_struct *next,
				     unsigned int prev_state)
{
	if (prev_state == TASK_RUNNING)
		enqueue(prev);
	account(next, bpf_ktime_get_ns());
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
