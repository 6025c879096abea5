// SPDX-License-Identifier: GPL-2.0
/* killsnoop: kill(), tkill() and tgkill() calls: sender, signal, target, result. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"

struct event {
	__u32 pid;
	__u32 tpid;
	__s32 sig;
	__s32 ret;
	__u32 call;	/* 0 kill, 1 tkill, 2 tgkill */
	char comm[TASK_COMM_LEN];
};

const volatile __u32 target_pid = 0;
const volatile __s32 target_signal = 0;
const volatile bool failed_only = 0;
const struct event *unused_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct event);
} values SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

static __always_inline int enter(__u32 call, __u32 tpid, __s32 sig)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct event e = {};

	if (target_pid && (id >> 32) != target_pid)
		return 0;
	if (target_signal && sig != target_signal)
		return 0;
	e.pid = id >> 32;
	e.tpid = tpid;
	e.sig = sig;
	e.call = call;
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	bpf_map_update_elem(&values, &tid, &e, BPF_ANY);
	return 0;
}

static __always_inline int leave(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct event *e = bpf_map_lookup_elem(&values, &tid);

	if (!e)
		return 0;
	e->ret = ret;
	if (!failed_only || ret < 0)
		bpf_ringbuf_output(&events, e, sizeof(*e), 0);
	bpf_map_delete_elem(&values, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_kill")
int kill_entry(struct trace_event_raw_sys_enter *ctx)
{
	return enter(0, ctx->args[0], ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_kill")
int kill_exit(struct trace_event_raw_sys_exit *ctx)
{
	return leave(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_tkill")
int tkill_entry(struct trace_event_raw_sys_enter *ctx)
{
	return enter(1, ctx->args[0], ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_tkill")
int tkill_exit(struct trace_event_raw_sys_exit *ctx)
{
	return leave(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_tgkill")
int tgkill_entry(struct trace_event_raw_sys_enter *ctx)
{
	return enter(2, ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_tgkill")
int tgkill_exit(struct trace_event_raw_sys_exit *ctx)
{
	return leave(ctx->ret);
}

char LICENSE[] SEC("license") = "GPL";
