// SPDX-License-Identifier: GPL-2.0
/* syscount: count system calls per process and syscall number. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct count_key {
	__u32 pid;
	__u32 nr;
};

/* only count this process when set */
const volatile __u32 target_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct count_key);
	__type(value, __u64);
} counts SEC(".maps");

SEC("raw_tp/sys_enter")
int count_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct count_key k = {};
	__u64 one = 1, *val;

	k.pid = bpf_get_current_pid_tgid() >> 32;
	if (target_pid && k.pid != target_pid)
		return 0;
	k.nr = (__u32)ctx->args[1];
	val = bpf_map_lookup_elem(&counts, &k);
	if (val)
		__sync_fetch_and_add(val, 1);
	else
		bpf_map_update_elem(&counts, &k, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
