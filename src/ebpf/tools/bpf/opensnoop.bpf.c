// SPDX-License-Identifier: GPL-2.0
/* opensnoop: trace openat() calls: who opened what, and the result. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"

#define NAME_MAX 255

struct args_t {
	const char *fname;
	__s32 flags;
};

struct event {
	__u32 pid;
	__u32 uid;
	__s32 ret;
	__s32 flags;
	char comm[TASK_COMM_LEN];
	char fname[NAME_MAX + 1];
};

const volatile __u32 target_pid = 0;

HASH(start, __u32, struct args_t, 10240);
EVENTS(struct event, 256 * 1024);

SEC("tracepoint/syscalls/sys_enter_openat")
int trace_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	struct args_t args = { .fname = (const char *)ctx->args[1], .flags = (__s32)ctx->args[2] };

	return thread_save(&start, &args, target_pid);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int trace_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id;
	struct args_t *ap = thread_entry(&start, &id);
	struct event *e;

	if (!ap)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		e->pid = id >> 32;
		e->uid = (__u32)bpf_get_current_uid_gid();
		e->ret = ctx->ret;
		e->flags = ap->flags;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		bpf_probe_read_user_str(e->fname, sizeof(e->fname), ap->fname);
		bpf_ringbuf_submit(e, 0);
	}
	thread_drop(&start, id);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
