// SPDX-License-Identifier: GPL-2.0
/* cpudist: how long tasks run on a CPU before being switched out (or, with
 * offcpu, how long they stay off it); log2 histograms. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"
#include "sched.h"

const volatile __u32 target_tgid = 0;
const volatile bool per_process = 0;
const volatile bool per_thread = 0;
const volatile bool millis = 0;
const volatile bool offcpu = 0;

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

static __always_inline int on_wakeup(struct task_struct *p)
{
	return 0;
}

static __always_inline bool wanted(struct task_struct *t)
{
	return BPF_CORE_READ(t, pid) && (!target_tgid || BPF_CORE_READ(t, tgid) == target_tgid);
}

static __always_inline void stamp(struct task_struct *t, __u64 now)
{
	__u32 pid = BPF_CORE_READ(t, pid);

	bpf_map_update_elem(&start, &pid, &now, BPF_ANY);
}

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

static __always_inline int on_switch(struct task_struct *prev, struct task_struct *next,
				     unsigned int prev_state)
{
	__u64 now = bpf_ktime_get_ns();

	if (offcpu) {
		if (wanted(prev))
			stamp(prev, now);
		if (wanted(next))
			account(next, now);
	} else {
		if (wanted(prev))
			account(prev, now);
		if (wanted(next))
			stamp(next, now);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
