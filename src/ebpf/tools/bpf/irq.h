/* SPDX-License-Identifier: GPL-2.0 */
/* What hardirqs and softirqs share: their options and what they keep per
 * handler or vector (count, total time, log2 histogram). Needs tools.h. */
#ifndef EBPF_TOOLS_IRQ_H
#define EBPF_TOOLS_IRQ_H

struct info {
	__u64 count;
	__u64 total_ns;
	struct hist hist;
};

const volatile bool do_dist = 0;
const volatile bool nanos = 0;

/* the histogram slot of a handler's time: nanoseconds, or microseconds */
static __always_inline __u32 irq_slot(__u64 delta_ns)
{
	return log2_slot(nanos ? delta_ns : delta_ns / 1000, MAX_SLOTS);
}

#endif
