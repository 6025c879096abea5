// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The smallest useful tracing program: report write(2) calls of one process. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

int my_pid = 0;        /* set from user space before loading (.bss) */
long hits = 0;

SEC("tp/syscalls/sys_enter_write")
int handle_tp(void *ctx)
{
	int pid = bpf_get_current_pid_tgid() >> 32;

	if (pid != my_pid)
		return 0;
	__sync_fetch_and_add(&hits, 1);
	bpf_printk("BPF triggered from PID %d.\n", pid);
	return 0;
}
