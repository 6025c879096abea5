// SPDX-License-Identifier: GPL-2.0
/* syscount: count system calls per process and syscall number; optionally only
 * failed ones, and their total latency. Raw tracepoints sys_enter / sys_exit. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"

struct count_key {
	__u32 pid;
	__u32 nr;
};

struct start_t {
	__u64 ts;
	__u32 nr;
	__u32 pad;
};

/* only count this process when set */
const volatile __u32 target_pid = 0;
/* count at sys_exit (needed for failures and latency) instead of sys_enter */
const volatile bool at_exit = 0;
const volatile bool failures_only = 0;
const volatile __s32 only_errno = 0;

HASH(counts, struct count_key, __u64, 10240);

/* total nanoseconds spent, same keys as counts (at_exit only) */
HASH(latency, struct count_key, __u64, 10240);

HASH(start, __u32, struct start_t, 10240);

SEC("raw_tp/sys_enter")
int count_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct count_key k = {};
	struct start_t s = {};
	__u32 tid = (__u32)id;

	k.pid = id >> 32;
	if (target_pid && k.pid != target_pid)
		return 0;
	k.nr = (__u32)ctx->args[1];
	if (!at_exit) {
		count_add(&counts, &k, 1);
		return 0;
	}
	s.ts = bpf_ktime_get_ns();
	s.nr = k.nr;
	bpf_map_update_elem(&start, &tid, &s, BPF_ANY);
	return 0;
}

SEC("raw_tp/sys_exit")
int count_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct count_key k = {};
	struct start_t *s;
	long ret = (long)ctx->args[1];

	if (!at_exit)
		return 0;
	s = bpf_map_lookup_elem(&start, &tid);
	if (!s)
		return 0;
	k.pid = id >> 32;
	k.nr = s->nr;
	if ((failures_only && ret >= 0) || (only_errno && ret != -only_errno)) {
		bpf_map_delete_elem(&start, &tid);
		return 0;
	}
	count_add(&counts, &k, 1);
	count_add(&latency, &k, bpf_ktime_get_ns() - s->ts);
	bpf_map_delete_elem(&start, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
