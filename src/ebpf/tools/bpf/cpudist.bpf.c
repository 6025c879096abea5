// SPDX-License-Identifier: GPL-2.0
/* cpudist: how long tasks run on a CPU before being switched out (or, with
 * offcpu, how long they stay off it); log2 histograms. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"
#include "sched.h"

const volatile bool offcpu = 0;

static __always_inline int on_wakeup(struct task_struct *p)
{
	return 0;
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
