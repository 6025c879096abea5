// A BPF timer as connection-tracking GC and rate limiters use one: armed from a
// packet program, its callback updates the element it lives in.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define CLOCK_MONOTONIC 1

struct elem {
	struct bpf_timer t;
	__u64 fired;
	__u64 key_seen;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct elem);
} timers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, __u64);
	__type(value, struct elem);
} by_id SEC(".maps");

long rets[10] = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9};
long cancel_self = 9;
__u64 delay_ns = 1000000;

static int on_fire(void *map, __u32 *key, struct elem *e)
{
	e->fired += 1;
	e->key_seen = *key + 100;
	cancel_self = bpf_timer_cancel(&e->t);
	return 0;
}

static int on_fire_hash(void *map, __u64 *key, struct elem *e)
{
	e->fired += 10;
	e->key_seen = *key;
	return 0;
}

SEC("tc")
int arm(struct __sk_buff *skb)
{
	__u32 k0 = 0, k1 = 1;
	__u64 id = 42;
	struct elem *e0 = bpf_map_lookup_elem(&timers, &k0);
	struct elem *e1 = bpf_map_lookup_elem(&timers, &k1);
	struct elem init = {}, *h;

	if (!e0 || !e1)
		return 1;
	rets[0] = bpf_timer_start(&e0->t, delay_ns, 0);           /* not initialised */
	rets[1] = bpf_timer_init(&e0->t, &timers, 5);             /* bad clock */
	rets[2] = bpf_timer_init(&e0->t, &timers, CLOCK_MONOTONIC);
	rets[3] = bpf_timer_init(&e0->t, &timers, CLOCK_MONOTONIC); /* twice */
	rets[4] = bpf_timer_start(&e0->t, delay_ns, 0);           /* no callback */
	rets[5] = bpf_timer_set_callback(&e0->t, on_fire);
	rets[6] = bpf_timer_start(&e0->t, delay_ns, 4);           /* bad flags */
	rets[7] = bpf_timer_start(&e0->t, delay_ns, 0);
	/* a second timer, armed then cancelled before it fires */
	bpf_timer_init(&e1->t, &timers, CLOCK_MONOTONIC);
	bpf_timer_set_callback(&e1->t, on_fire);
	bpf_timer_start(&e1->t, 1000000000ull, 0);
	rets[8] = bpf_timer_cancel(&e1->t);
	/* one in a hash element */
	bpf_map_update_elem(&by_id, &id, &init, BPF_ANY);
	h = bpf_map_lookup_elem(&by_id, &id);
	if (!h)
		return 1;
	bpf_timer_init(&h->t, &by_id, CLOCK_MONOTONIC);
	bpf_timer_set_callback(&h->t, on_fire_hash);
	rets[9] = bpf_timer_start(&h->t, delay_ns, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
