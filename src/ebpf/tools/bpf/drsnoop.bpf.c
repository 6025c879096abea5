// SPDX-License-Identifier: GPL-2.0
/* drsnoop: direct reclaim (and memory cgroup reclaim) episodes: who, how long,
 * pages reclaimed. vmscan/mm_vmscan_{direct,memcg}_reclaim_{begin,end}. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"

struct event {
	__u64 delta_ns;
	__u64 nr_reclaimed;
	__u32 pid;
	__u32 memcg;	/* 1: memory cgroup reclaim, 0: direct (global) reclaim */
	char comm[TASK_COMM_LEN];
};

const volatile __u32 target_pid = 0;
const struct event *unused_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

static __always_inline int begin(void)
{
	__u64 id = bpf_get_current_pid_tgid(), ts = bpf_ktime_get_ns();
	__u32 tid = (__u32)id;

	if (target_pid && (id >> 32) != target_pid)
		return 0;
	bpf_map_update_elem(&start, &tid, &ts, BPF_ANY);
	return 0;
}

static __always_inline int end(__u64 nr, __u32 memcg)
{
	__u64 id = bpf_get_current_pid_tgid(), *tsp;
	__u32 tid = (__u32)id;
	struct event *e;

	tsp = bpf_map_lookup_elem(&start, &tid);
	if (!tsp)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		e->delta_ns = bpf_ktime_get_ns() - *tsp;
		e->nr_reclaimed = nr;
		e->pid = id >> 32;
		e->memcg = memcg;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		bpf_ringbuf_submit(e, 0);
	}
	bpf_map_delete_elem(&start, &tid);
	return 0;
}

SEC("tracepoint/vmscan/mm_vmscan_direct_reclaim_begin")
int direct_begin(void *ctx) { return begin(); }
SEC("tracepoint/vmscan/mm_vmscan_direct_reclaim_end")
int direct_end(struct trace_event_raw_mm_vmscan_direct_reclaim_end_template *ctx)
{ return end(ctx->nr_reclaimed, 0); }
SEC("tracepoint/vmscan/mm_vmscan_memcg_reclaim_begin")
int memcg_begin(void *ctx) { return begin(); }
SEC("tracepoint/vmscan/mm_vmscan_memcg_reclaim_end")
int memcg_end(struct trace_event_raw_mm_vmscan_direct_reclaim_end_template *ctx)
{ return end(ctx->nr_reclaimed, 1); }

char LICENSE[] SEC("license") = "GPL";
