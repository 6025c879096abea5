// SPDX-License-Identifier: GPL-2.0
/* Test config for the hook kinds ebpf_exporter's examples use besides tracepoints:
 * a uprobe on libc (getpid calls per cgroup and command name), a BTF tracepoint
 * (execs per command name) and a sampling perf event in ebpf_exporter's section
 * syntax (samples per CPU in a per-CPU array). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct getpid_key {
	__u64 cgroup;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct getpid_key);
	__type(value, __u64);
} libc_getpid_calls_total SEC(".maps");

struct comm_key {
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct comm_key);
	__type(value, __u64);
} btf_execs_total SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} cpu_clock_samples_total SEC(".maps");

static __always_inline void bump(void *map, void *key)
{
	__u64 one = 1, *n = bpf_map_lookup_elem(map, key);

	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(map, key, &one, BPF_NOEXIST);
}

SEC("uprobe/libc.so.6:getpid")
int on_getpid(void *ctx)
{
	struct getpid_key key = {};

	key.cgroup = bpf_get_current_cgroup_id();
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	bump(&libc_getpid_calls_total, &key);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int on_exec(__u64 *ctx)
{
	struct comm_key key = {};

	bpf_get_current_comm(key.comm, sizeof(key.comm));
	bump(&btf_execs_total, &key);
	return 0;
}

SEC("perf_event/type=1,config=0,frequency=100")
int on_sample(void *ctx)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&cpu_clock_samples_total, &zero);

	if (n)
		*n += 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
