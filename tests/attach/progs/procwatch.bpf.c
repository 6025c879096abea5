/* Process lifecycle watcher in the style of libbpf-bootstrap: exec events with the
 * file name from the tracepoint's __data_loc field, exit events with the exit
 * code and how long the process lived, both through one ring buffer. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define NAME_LEN 16
#define PATH_LEN 127

struct lifecycle_event {
    int pid;
    int ppid;
    unsigned exit_code;
    unsigned long long duration_ns;
    char comm[NAME_LEN];
    char filename[PATH_LEN];
    bool exit_event;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 8192);
    __type(key, pid_t);
    __type(value, u64);
} exec_start SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} rb SEC(".maps");

const volatile pid_t watch_ppid = 0;
const struct lifecycle_event *unused_lifecycle_event __attribute__((unused));

SEC("tp/sched/sched_process_exec")
int on_exec(struct trace_event_raw_sched_process_exec *ctx)
{
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    pid_t pid = bpf_get_current_pid_tgid() >> 32;
    pid_t ppid = BPF_CORE_READ(task, real_parent, tgid);
    if (watch_ppid && ppid != watch_ppid)
        return 0;
    u64 ts = bpf_ktime_get_ns();
    bpf_map_update_elem(&exec_start, &pid, &ts, BPF_ANY);

    struct lifecycle_event *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
    if (!e)
        return 0;
    e->exit_event = false;
    e->pid = pid;
    e->ppid = ppid;
    e->exit_code = 0;
    e->duration_ns = 0;
    bpf_get_current_comm(&e->comm, sizeof(e->comm));
    unsigned fname_off = ctx->__data_loc_filename & 0xFFFF;
    bpf_probe_read_str(&e->filename, sizeof(e->filename), (void *)ctx + fname_off);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

SEC("tp/sched/sched_process_exit")
int on_exit(struct trace_event_raw_sched_process_template *ctx)
{
    u64 id = bpf_get_current_pid_tgid();
    pid_t pid = id >> 32, tid = (u32)id;
    if (pid != tid)
        return 0; /* a thread, not the process */
    u64 *start = bpf_map_lookup_elem(&exec_start, &pid);
    if (!start)
        return 0; /* not one we saw exec */
    u64 duration = bpf_ktime_get_ns() - *start;
    bpf_map_delete_elem(&exec_start, &pid);

    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    struct lifecycle_event *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
    if (!e)
        return 0;
    e->exit_event = true;
    e->pid = pid;
    e->ppid = BPF_CORE_READ(task, real_parent, tgid);
    e->exit_code = (BPF_CORE_READ(task, exit_code) >> 8) & 0xff;
    e->duration_ns = duration;
    bpf_get_current_comm(&e->comm, sizeof(e->comm));
    e->filename[0] = 0;
    bpf_ringbuf_submit(e, 0);
    return 0;
}
