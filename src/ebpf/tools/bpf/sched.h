/* SPDX-License-Identifier: GPL-2.0 */
/* What runqlat and cpudist share: their options, the start time of each thread
 * and the log2 histograms of the times measured from it, and the sched_switch /
 * sched_wakeup programs, as tp_btf (the classic hook) and as raw tracepoints (the
 * fallback). Each tool defines on_wakeup() and on_switch(). Needs tools.h. */
#ifndef EBPF_TOOLS_SCHED_H
#define EBPF_TOOLS_SCHED_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#define TASK_RUNNING 0

const volatile __u32 target_tgid = 0;
const volatile bool per_process = 0;
const volatile bool per_thread = 0;
const volatile bool millis = 0;

HASH(start, __u32, __u64, 10240);
HASH(hists, __u32, struct hist, 10240);

/* a task of the traced process (any when target_tgid is 0), not an idle task */
static __always_inline bool wanted(struct task_struct *t)
{
	return BPF_CORE_READ(t, pid) && (!target_tgid || BPF_CORE_READ(t, tgid) == target_tgid);
}

/* the time measured for t starts now */
static __always_inline void stamp(struct task_struct *t, __u64 now)
{
	__u32 pid = BPF_CORE_READ(t, pid);

	bpf_map_update_elem(&start, &pid, &now, BPF_ANY);
}

/* the time since t's stamp into its histogram (all, its process's or its own) */
static __always_inline void account(struct task_struct *t, __u64 now)
{
	__u32 pid = BPF_CORE_READ(t, pid), key = 0;
	__u64 *tsp = bpf_map_lookup_elem(&start, &pid), delta;

	if (!tsp)
		return;
	delta = (now - *tsp) / (millis ? 1000000 : 1000);
	bpf_map_delete_elem(&start, &pid);
	if (per_thread)
		key = pid;
	else if (per_process)
		key = BPF_CORE_READ(t, tgid);
	hist_add(&hists, &key, delta);
}

static __always_inline int on_wakeup(struct task_struct *p);
static __always_inline int on_switch(struct task_struct *prev, struct task_struct *next,
				     unsigned int prev_state);

#define SCHED_PROGRAMS(prefix, sec)						\
SEC(sec "/sched_wakeup")							\
int BPF_PROG(prefix##_wakeup, struct task_struct *p) { return on_wakeup(p); }	\
SEC(sec "/sched_wakeup_new")							\
int BPF_PROG(prefix##_wakeup_new, struct task_struct *p) { return on_wakeup(p); } \
SEC(sec "/sched_switch")							\
int BPF_PROG(prefix##_switch, bool preempt, struct task_struct *prev,		\
	     struct task_struct *next, unsigned int prev_state)			\
{ return on_switch(prev, next, prev_state); }

SCHED_PROGRAMS(btf, "tp_btf")
SCHED_PROGRAMS(raw, "raw_tp")

#endif
