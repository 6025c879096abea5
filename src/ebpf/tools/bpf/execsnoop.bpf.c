// SPDX-License-Identifier: GPL-2.0
/* execsnoop: one event per execve(): pid, parent pid, comm, arguments, result.
 *
 * sys_enter_execve copies the arguments into a per-pid slot of a hash map
 * (the event is too big for the 512-byte BPF stack); sys_exit_execve adds the
 * return value and the new comm, and sends the event through a ring buffer.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "tools.h"

#define MAX_ARGS 16
#define ARG_LEN 128

struct event {
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	__s32 retval;
	__u32 args_count;
	char comm[TASK_COMM_LEN];
	char args[MAX_ARGS][ARG_LEN];
};

/* programs may restrict events to the children of one process */
const volatile __u32 target_ppid = 0;

HASH(execs, __u32, struct event, 1024);
EVENTS(struct event, 256 * 1024);

static const struct event empty_event = {};

SEC("tracepoint/syscalls/sys_enter_execve")
int handle_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 ppid = BPF_CORE_READ(task, real_parent, tgid);
	const char **argv = (const char **)ctx->args[1];
	struct event *e;
	int i;

	if (target_ppid && ppid != target_ppid)
		return 0;
	if (bpf_map_update_elem(&execs, &pid, &empty_event, BPF_NOEXIST))
		return 0;
	e = bpf_map_lookup_elem(&execs, &pid);
	if (!e)
		return 0;
	e->pid = pid;
	e->ppid = ppid;
	e->uid = (__u32)bpf_get_current_uid_gid();

	#pragma unroll
	for (i = 0; i < MAX_ARGS; i++) {
		const char *arg = NULL;

		if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i]) || !arg)
			break;
		if (bpf_probe_read_user_str(e->args[i], ARG_LEN, arg) < 0)
			break;
		e->args_count++;
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int handle_exit_execve(struct trace_event_raw_sys_exit *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct event *e = bpf_map_lookup_elem(&execs, &pid);

	if (!e)
		return 0;
	e->retval = ctx->ret;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_output(&events, e, sizeof(*e), 0);
	bpf_map_delete_elem(&execs, &pid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
