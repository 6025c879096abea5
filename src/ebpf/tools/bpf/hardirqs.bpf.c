// SPDX-License-Identifier: GPL-2.0
/* hardirqs: hard interrupt handler time (or count, or latency histograms) per
 * handler name: irq/irq_handler_entry and irq/irq_handler_exit. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"
#include "irq.h"

#define NAME_LEN 32

struct irq_key {
	char name[NAME_LEN];
};

struct start_t {
	__u64 ts;
	struct irq_key key;
};

MAP(start, BPF_MAP_TYPE_PERCPU_ARRAY, __u32, struct start_t, 1);

HASH(infos, struct irq_key, struct info, 256);

SEC("tracepoint/irq/irq_handler_entry")
int handle_entry(struct trace_event_raw_irq_handler_entry *ctx)
{
	__u32 zero = 0;
	struct start_t *s = bpf_map_lookup_elem(&start, &zero);
	__u32 loc = ctx->__data_loc_name;

	if (!s)
		return 0;
	__builtin_memset(&s->key, 0, sizeof(s->key));
	bpf_probe_read_kernel_str(s->key.name, sizeof(s->key.name), (void *)ctx + (loc & 0xFFFF));
	s->ts = bpf_ktime_get_ns();
	return 0;
}

SEC("tracepoint/irq/irq_handler_exit")
int handle_exit(void *ctx)
{
	__u32 zero = 0, slot;
	struct start_t *s = bpf_map_lookup_elem(&start, &zero);
	static const struct info empty;
	struct info *i;
	__u64 delta;

	if (!s || !s->ts)
		return 0;
	delta = bpf_ktime_get_ns() - s->ts;
	s->ts = 0;
	i = lookup_or_init(&infos, &s->key, &empty);
	if (!i)
		return 0;
	__sync_fetch_and_add(&i->count, 1);
	__sync_fetch_and_add(&i->total_ns, delta);
	if (do_dist) {
		slot = irq_slot(delta);
		__sync_fetch_and_add(&i->hist.slots[slot], 1);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
