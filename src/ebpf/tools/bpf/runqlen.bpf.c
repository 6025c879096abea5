// SPDX-License-Identifier: GPL-2.0
/* runqlen: sample the run queue length of each CPU (perf_event, cpu-clock): the
 * CPU's runqueue nr_running, reached by CO-RE from the current task
 * (task->se.cfs_rq->rq, CONFIG_FAIR_GROUP_SCHED), minus the running task. (The
 * per-CPU "runqueues" typed ksym would not need that config, but the loader does
 * not resolve per-CPU ksyms yet.) */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "tools.h"

#define MAX_CPUS 512
#define MAX_LEN 64

const volatile bool per_cpu = 0;

/* [cpu][len] counts when per_cpu, else [0][len] */
HASH(samples, __u64, __u64, MAX_CPUS * MAX_LEN);

SEC("perf_event")
int do_sample(struct bpf_perf_event_data *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 len = BPF_CORE_READ(task, se.cfs_rq, rq, nr_running), key;

	if (len > 0)
		len--;	/* the running task */
	if (len >= MAX_LEN)
		len = MAX_LEN - 1;
	key = len;
	if (per_cpu)
		key |= (__u64)bpf_get_smp_processor_id() << 32;
	count_add(&samples, &key, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
