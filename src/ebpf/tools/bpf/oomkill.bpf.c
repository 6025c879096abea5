// SPDX-License-Identifier: GPL-2.0
/* oomkill: OOM killer victims (oom/mark_victim); the task running when the
 * victim is marked is the one whose allocation triggered the kill. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"

struct event {
	__u32 trigger_pid;
	__u32 victim_pid;
	__u64 total_vm_kb;
	__u64 rss_kb;
	char trigger_comm[TASK_COMM_LEN];
	char victim_comm[TASK_COMM_LEN];
};


EVENTS(struct event, 64 * 1024);

SEC("tracepoint/oom/mark_victim")
int handle_mark_victim(struct trace_event_raw_mark_victim *ctx)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	__u32 loc = ctx->__data_loc_comm;

	if (!e)
		return 0;
	e->trigger_pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e->trigger_comm, sizeof(e->trigger_comm));
	e->victim_pid = ctx->pid;
	e->total_vm_kb = ctx->total_vm;
	e->rss_kb = ctx->anon_rss + ctx->file_rss + ctx->shmem_rss;
	bpf_probe_read_kernel_str(e->victim_comm, sizeof(e->victim_comm),
				  (void *)ctx + (loc & 0xFFFF));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
