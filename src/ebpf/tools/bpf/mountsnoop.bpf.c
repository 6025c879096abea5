// SPDX-License-Identifier: GPL-2.0
/* mountsnoop: mount() and umount() calls with their arguments and result. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "tools.h"

#define STR_LEN 128

struct args_t {
	const char *src;
	const char *dest;
	const char *fs;
	const char *data;
	__u64 flags;
	__u32 call;	/* 0 mount, 1 umount */
};

struct event {
	__u64 flags;
	__u32 pid;
	__u32 tid;
	__u32 mnt_ns;
	__s32 ret;
	__u32 call;
	char comm[TASK_COMM_LEN];
	char src[STR_LEN];
	char dest[STR_LEN];
	char fs[STR_LEN];
	char data[STR_LEN];
};

const volatile __u32 target_pid = 0;

HASH(start, __u32, struct args_t, 1024);

EVENTS(struct event, 256 * 1024);

static __always_inline int enter(struct args_t *a)
{
	return thread_save(&start, a, target_pid);
}

static __always_inline int leave(long ret)
{
	__u64 id;
	struct args_t *a = thread_entry(&start, &id);
	struct task_struct *task;
	struct event *e;

	if (!a)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		goto out;
	task = (struct task_struct *)bpf_get_current_task();
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->ret = ret;
	e->call = a->call;
	e->flags = a->flags;
	e->mnt_ns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->src[0] = e->fs[0] = e->data[0] = 0;
	if (a->src)
		bpf_probe_read_user_str(e->src, sizeof(e->src), a->src);
	bpf_probe_read_user_str(e->dest, sizeof(e->dest), a->dest);
	if (a->fs)
		bpf_probe_read_user_str(e->fs, sizeof(e->fs), a->fs);
	if (a->data)
		bpf_probe_read_user_str(e->data, sizeof(e->data), a->data);
	bpf_ringbuf_submit(e, 0);
out:
	thread_drop(&start, id);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_mount")
int mount_entry(struct trace_event_raw_sys_enter *ctx)
{
	struct args_t a = {
		.src = (const char *)ctx->args[0], .dest = (const char *)ctx->args[1],
		.fs = (const char *)ctx->args[2], .flags = ctx->args[3],
		.data = (const char *)ctx->args[4], .call = 0,
	};
	return enter(&a);
}

SEC("tracepoint/syscalls/sys_exit_mount")
int mount_exit(struct trace_event_raw_sys_exit *ctx)
{
	return leave(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_umount")
int umount_entry(struct trace_event_raw_sys_enter *ctx)
{
	struct args_t a = { .dest = (const char *)ctx->args[0], .flags = ctx->args[1], .call = 1 };
	return enter(&a);
}

SEC("tracepoint/syscalls/sys_exit_umount")
int umount_exit(struct trace_event_raw_sys_exit *ctx)
{
	return leave(ctx->ret);
}

char LICENSE[] SEC("license") = "GPL";
