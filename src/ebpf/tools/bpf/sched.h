/* SPDX-License-Identifier: GPL-2.0 */
/* sched_switch / sched_wakeup programs shared by runqlat and cpudist, as tp_btf
 * (the classic hook) and as raw tracepoints (the fallback). Each tool defines
 * on_wakeup() and on_switch(). */
#ifndef EBPF_TOOLS_SCHED_H
#define EBPF_TOOLS_SCHED_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#define TASK_RUNNING 0

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
