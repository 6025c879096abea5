// SPDX-License-Identifier: GPL-2.0
/* runqlat: run queue (scheduler) latency: from wakeup, or from being preempted
 * while runnable, to running again; log2 histograms. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"
#include "sched.h"

const volatile __u32 target_tgid = 0;
const volatile bool per_process = 0;
const volatile bool per_thread = 0;
const volatile bool millis = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct hist);
} hists SEC(".maps");

static __always_inline int enqueue(struct task_struct *p)
{
	__u32 pid = BPF_CORE_READ(p, pid);
	__u64 ts;

	if (!pid)
		return 0;
	if (target_tgid && BPF_CORE_READ(p, tgid) != target_tgid)
		return 0;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &pid, &ts, BPF_ANY);
	return 0;
}

static __always_inline int on_wakeup(struct task_struct *p)
{
	return enqueue(p);
}

static __always_inline int on_switch(struct task_struct *prev, struct task_struct *next,
				     unsigned int prev_state)
{
	__u32 pid, key = 0;
	__u64 *tsp, delta;

	if (prev_state == TASK_RUNNING)
		enqueue(prev);
	pid = BPF_CORE_READ(next, pid);
	tsp = bpf_map_lookup_elem(&start, &pid);
	if (!tsp)
		return 0;
	delta = (bpf_ktime_get_ns() - *tsp) / (millis ? 1000000 : 1000);
	bpf_map_delete_elem(&start, &pid);
	if (per_thread)
		key = pid;
	else if (per_process)
		key = BPF_CORE_READ(next, tgid);
	hist_add(&hists, &key, delta);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
