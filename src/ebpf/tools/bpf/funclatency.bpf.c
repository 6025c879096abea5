// SPDX-License-Identifier: GPL-2.0
/* funclatency: time from a user function's entry to its return (uprobe and
 * uretprobe), as a log2 histogram. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"

const volatile __u32 target_pid = 0;
const volatile __u32 units = 0;	/* divisor: 1 ns, 1000 us, 1000000 ms */

HASH(start, __u32, __u64, 10240);
HASH(hists, __u32, struct hist, 1);

SEC("uprobe")
int func_entry(struct pt_regs *ctx)
{
	return thread_stamp(&start, target_pid);
}

SEC("uretprobe")
int func_return(struct pt_regs *ctx)
{
	__u32 zero = 0;
	__u64 delta;

	if (thread_elapsed(&start, &delta))
		hist_add(&hists, &zero, delta / (units ? units : 1));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
