// SPDX-License-Identifier: GPL-2.0
/* Test config: system calls per command name and syscall number. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct sys_key {
	char comm[16];
	__u32 nr;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 20480);
	__type(key, struct sys_key);
	__type(value, __u64);
} syscalls_by_comm_total SEC(".maps");

SEC("raw_tp/sys_enter")
int count_syscall(struct bpf_raw_tracepoint_args *ctx)
{
	struct sys_key key = {};
	__u64 one = 1, *n;

	bpf_get_current_comm(key.comm, sizeof(key.comm));
	key.nr = (__u32)ctx->args[1];
	n = bpf_map_lookup_elem(&syscalls_by_comm_total, &key);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&syscalls_by_comm_total, &key, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
