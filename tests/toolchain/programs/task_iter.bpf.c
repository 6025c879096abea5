// SPDX-License-Identifier: GPL-2.0
/* A BPF iterator over every task, printing one line per thread group leader
 * with BPF_SEQ_PRINTF, and formatting into a buffer with BPF_SNPRINTF. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char last_line[64] = {};
u64 tasks_seen = 0;

SEC("iter/task")
int dump_task(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;

	if (!task)
		return 0;
	tasks_seen++;
	if (task->pid != task->tgid)
		return 0;
	if (ctx->meta->seq_num == 0)
		BPF_SEQ_PRINTF(seq, "%-8s %-8s %-16s %s\n", "TGID", "PPID", "COMM", "STATE");
	BPF_SEQ_PRINTF(seq, "%-8d %-8d %-16s %u\n", task->tgid,
		       BPF_CORE_READ(task, real_parent, tgid), task->comm, task->__state);
	BPF_SNPRINTF(last_line, sizeof(last_line), "%d:%s", task->tgid, task->comm);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
