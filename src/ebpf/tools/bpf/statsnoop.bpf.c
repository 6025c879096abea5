// SPDX-License-Identifier: GPL-2.0
/* statsnoop: stat()-family calls: who asked about which path, and the result. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"

#define PATH_LEN 256

struct event {
	__u32 pid;
	__s32 ret;
	__u32 call;	/* 0 statfs, 1 stat, 2 lstat, 3 fstatat, 4 statx */
	char comm[TASK_COMM_LEN];
	char path[PATH_LEN];
};

struct start_t {
	const char *path;
	__u32 call;
};

const volatile __u32 target_pid = 0;
const volatile bool failed_only = 0;

HASH(start, __u32, struct start_t, 10240);

EVENTS(struct event, 256 * 1024);

static __always_inline int enter(const char *path, __u32 call)
{
	struct start_t s = { .path = path, .call = call };

	return thread_save(&start, &s, target_pid);
}

static __always_inline int leave(long ret)
{
	__u64 id;
	struct start_t *s = thread_entry(&start, &id);
	struct event *e;

	if (!s)
		return 0;
	if (failed_only && ret >= 0)
		goto out;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		goto out;
	e->pid = id >> 32;
	e->ret = ret;
	e->call = s->call;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_user_str(e->path, sizeof(e->path), s->path);
	bpf_ringbuf_submit(e, 0);
out:
	thread_drop(&start, id);
	return 0;
}

SYSCALL_HOOKS(statfs, statfs, enter((const char *)ctx->args[0], 0), leave(ctx->ret))
SYSCALL_HOOKS(stat, newstat, enter((const char *)ctx->args[0], 1), leave(ctx->ret))
SYSCALL_HOOKS(lstat, newlstat, enter((const char *)ctx->args[0], 2), leave(ctx->ret))
SYSCALL_HOOKS(fstatat, newfstatat, enter((const char *)ctx->args[1], 3), leave(ctx->ret))
SYSCALL_HOOKS(statx, statx, enter((const char *)ctx->args[1], 4), leave(ctx->ret))

char LICENSE[] SEC("license") = "GPL";
