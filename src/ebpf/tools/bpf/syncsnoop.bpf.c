// SPDX-License-Identifier: GPL-2.0
/* syncsnoop: sync(), syncfs(), fsync(), fdatasync(), msync(), sync_file_range(). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"

struct event {
	__u64 ts_ns;
	__u32 pid;
	__u32 call;	/* 0 sync 1 syncfs 2 fsync 3 fdatasync 4 msync 5 sync_file_range */
	char comm[TASK_COMM_LEN];
};

const volatile __u32 target_pid = 0;

EVENTS(struct event, 64 * 1024);

static __always_inline int emit(__u32 call)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct event *e;

	if (target_pid && pid != target_pid)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = pid;
	e->call = call;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_sync")
int sync_entry(void *ctx) { return emit(0); }
SEC("tracepoint/syscalls/sys_enter_syncfs")
int syncfs_entry(void *ctx) { return emit(1); }
SEC("tracepoint/syscalls/sys_enter_fsync")
int fsync_entry(void *ctx) { return emit(2); }
SEC("tracepoint/syscalls/sys_enter_fdatasync")
int fdatasync_entry(void *ctx) { return emit(3); }
SEC("tracepoint/syscalls/sys_enter_msync")
int msync_entry(void *ctx) { return emit(4); }
SEC("tracepoint/syscalls/sys_enter_sync_file_range")
int sync_file_range_entry(void *ctx) { return emit(5); }

char LICENSE[] SEC("license") = "GPL";
