// libbpf-tools "optional cgroup filter" (execsnoop, runqlat, biolatency, ...):
// a CGROUP_ARRAY set from user space, checked with bpf_current_task_under_cgroup,
// plus bpf_skb_under_cgroup from tc.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define SLOTS 4

const volatile bool filter_cg = false;

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__type(key, u32);
	__type(value, u32);
	__uint(max_entries, SLOTS);
} cgroup_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, u32);
	__type(value, s64);
	__uint(max_entries, SLOTS + 1);
} answers SEC(".maps");

__u64 events = 0;

static __always_inline void answer(u32 slot, s64 r)
{
	bpf_map_update_elem(&answers, &slot, &r, BPF_ANY);
}

SEC("raw_tp/sys_enter")
int task_filter(void *ctx)
{
	answer(0, bpf_current_task_under_cgroup(&cgroup_map, 0));
	answer(1, bpf_current_task_under_cgroup(&cgroup_map, 1));
	answer(2, bpf_current_task_under_cgroup(&cgroup_map, 2));
	answer(3, bpf_current_task_under_cgroup(&cgroup_map, 3));
	answer(4, bpf_current_task_under_cgroup(&cgroup_map, SLOTS)); /* past the end */
	if (filter_cg && !bpf_current_task_under_cgroup(&cgroup_map, 0))
		return 0;
	__sync_fetch_and_add(&events, 1);
	return 0;
}

SEC("tc")
int skb_filter(struct __sk_buff *skb)
{
	answer(0, bpf_skb_under_cgroup(skb, &cgroup_map, 0));
	answer(1, bpf_skb_under_cgroup(skb, &cgroup_map, 1));
	answer(2, bpf_skb_under_cgroup(skb, &cgroup_map, 2));
	answer(3, bpf_skb_under_cgroup(skb, &cgroup_map, 3));
	answer(4, bpf_skb_under_cgroup(skb, &cgroup_map, SLOTS));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
