// SPDX-License-Identifier: GPL-2.0
/* funclatency: time from a user function's entry to its return (uprobe and
 * uretprobe), as a log2 histogram. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"

const volatile __u32 target_pid = 0;
const volatile __u32 units = 0;	/* divisor: 1 ns, 1000 us, 1000000 ms */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hist);
} hists SEC(".maps");

SEC("uprobe")
int func_entry(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), ts;
	__u32 tid = (__u32)id;

	if (target_pid && (id >> 32) != target_pid)
		return 0;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &tid, &ts, BPF_ANY);
	return 0;
}

SEC("uretprobe")
int func_return(struct pt_regs *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), zero = 0;
	__u64 *tsp = bpf_map_lookup_elem(&start, &tid), delta;

	if (!tsp)
		return 0;
	delta = bpf_ktime_get_ns() - *tsp;
	bpf_map_delete_elem(&start, &tid);
	hist_add(&hists, &zero, delta / (units ? units : 1));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
