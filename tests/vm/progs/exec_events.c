// A libbpf-bootstrap style tracer (CO-RE reads of the current task, ring buffer,
// tracepoint record with __data_loc string) and a BPF_KPROBE program.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

struct event { int pid; int ppid; unsigned exit_code; char comm[16]; char filename[64]; };

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} rb SEC(".maps");

const volatile unsigned long long min_duration_ns = 0;

SEC("tp/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    struct event *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
    if (!e)
        return 0;
    e->pid = bpf_get_current_pid_tgid() >> 32;
    e->ppid = BPF_CORE_READ(task, real_parent, tgid);
    e->exit_code = 0;
    bpf_get_current_comm(&e->comm, sizeof(e->comm));
    unsigned fname_off = ctx->__data_loc_filename & 0xFFFF;
    bpf_probe_read_str(&e->filename, sizeof(e->filename), (void *)ctx + fname_off);
    bpf_printk("exec %s", e->filename);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

SEC("kprobe/do_unlinkat")
int BPF_KPROBE(do_unlinkat, int dfd, struct filename *name)
{
    const char *filename = BPF_CORE_READ(name, name);
    bpf_printk("KPROBE ENTRY pid = %d, dfd = %d, filename = %s\n", bpf_get_current_pid_tgid() >> 32, dfd, filename);
    return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
