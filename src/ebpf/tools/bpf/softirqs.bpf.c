// SPDX-License-Identifier: GPL-2.0
/* softirqs: soft interrupt time (or count, or latency histograms) per vector:
 * irq/softirq_entry and irq/softirq_exit. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"
#include "irq.h"

#define NR_VECS 10

MAP(start, BPF_MAP_TYPE_PERCPU_ARRAY, __u32, __u64, 1);

MAP(infos, BPF_MAP_TYPE_PERCPU_HASH, __u32, struct info, NR_VECS);

SEC("tracepoint/irq/softirq_entry")
int handle_entry(void *ctx)
{
	__u32 zero = 0;
	__u64 *ts = bpf_map_lookup_elem(&start, &zero);

	if (ts)
		*ts = bpf_ktime_get_ns();
	return 0;
}

SEC("tracepoint/irq/softirq_exit")
int handle_exit(struct trace_event_raw_softirq *ctx)
{
	__u32 zero = 0, vec = ctx->vec, slot;
	__u64 *ts = bpf_map_lookup_elem(&start, &zero), delta;
	static const struct info empty;
	struct info *i;

	if (!ts || !*ts || vec >= NR_VECS)
		return 0;
	delta = bpf_ktime_get_ns() - *ts;
	*ts = 0;
	i = lookup_or_init(&infos, &vec, &empty);
	if (!i)
		return 0;
	i->count++;
	i->total_ns += delta;
	if (do_dist) {
		slot = irq_slot(delta);
		i->hist.slots[slot]++;
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
