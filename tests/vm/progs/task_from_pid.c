// sigsnoop-style: look up the target task of a signal by pid (kfunc), read its
// comm and tgid, and its parent's tgid; release it.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;

const volatile s32 target = 0;

int found = -1, missing_found = -1;
s32 pid = 0, tgid = 0, ppid = 0;
char comm[16] = {};

SEC("syscall")
int lookup(void *ctx)
{
	struct task_struct *t = bpf_task_from_pid(target);

	found = t != NULL;
	if (t) {
		pid = t->pid;
		tgid = t->tgid;
		ppid = BPF_CORE_READ(t, real_parent, tgid);
		bpf_probe_read_kernel_str(comm, sizeof(comm), t->comm);
		bpf_task_release(t);
	}
	t = bpf_task_from_pid(-1);
	missing_found = t != NULL;
	if (t)
		bpf_task_release(t);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
