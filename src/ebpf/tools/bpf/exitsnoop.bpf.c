// SPDX-License-Identifier: GPL-2.0
/* exitsnoop: one event per process (or thread) exit: age, exit code or signal. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "tools.h"

struct event {
	__u64 age_ns;
	__u32 pid;
	__u32 tid;
	__u32 ppid;
	__u32 exit_code;
	char comm[TASK_COMM_LEN];
};

const volatile __u32 target_pid = 0;
const volatile bool trace_threads = 0;
const volatile bool failed_only = 0;

EVENTS(struct event, 256 * 1024);

SEC("tracepoint/sched/sched_process_exit")
int handle_exit(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct event *e;
	__u32 pid = id >> 32, tid = (__u32)id, code;

	if (target_pid && pid != target_pid)
		return 0;
	if (!trace_threads && pid != tid)
		return 0;
	code = BPF_CORE_READ(task, exit_code);
	if (failed_only && code == 0)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = pid;
	e->tid = tid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->exit_code = code;
	e->age_ns = bpf_ktime_get_ns() - BPF_CORE_READ(task, start_time);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
