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

HASH(start, __u32, __u64, 10240);
EVENTS(struct event, 256 * 1024);

static __always_inline int begin(void)
{
	return thread_stamp(&start, target_pid);
}

static __always_inline int end(__u64 nr, __u32 memcg)
{
	struct event *e;
	__u64 delta;

	if (!thread_elapsed(&start, &delta))
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		e->delta_ns = delta;
		e->nr_reclaimed = nr;
		e->pid = bpf_get_current_pid_tgid() >> 32;
		e->memcg = memcg;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		bpf_ringbuf_submit(e, 0);
	}
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
