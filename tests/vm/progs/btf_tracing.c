// fentry / tp_btf / LSM programs dereference BTF pointers directly; in the
// kernel those loads cannot fault (a bad pointer reads as 0).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

__u64 seen_flags = 0;

SEC("fentry/do_unlinkat")
int BPF_PROG(do_unlinkat_entry, int dfd, struct filename *name)
{
    pid_t pid = bpf_get_current_pid_tgid() >> 32;
    bpf_printk("fentry: pid = %d, dfd = %d, filename = %s", pid, dfd, name->name);
    return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
    return prev->pid + next->pid;
}

SEC("lsm/file_open")
int BPF_PROG(check_open, struct file *file, int ret)
{
    seen_flags = file->f_flags;
    return ret;
}

char LICENSE[] SEC("license") = "GPL";
