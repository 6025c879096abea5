// SPDX-License-Identifier: GPL-2.0
/* capable: security capability checks (the capability/cap_capable tracepoint). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"

struct event {
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__s32 cap;
	__s32 ret;
	char comm[TASK_COMM_LEN];
};

const volatile __u32 target_pid = 0;

EVENTS(struct event, 256 * 1024);

SEC("tracepoint/capability/cap_capable")
int handle_capable(struct trace_event_raw_cap_capable *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct event *e;

	if (target_pid && (id >> 32) != target_pid)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->cap = ctx->cap;
	e->ret = ctx->ret;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
