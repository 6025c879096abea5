/* opensnoop-style: remember the path at openat() entry, report it with the result
 * at exit, through a perf event array. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

#define PATH_MAX_LEN 160

struct open_args {
    const char *path;
    int flags;
};

struct open_event {
    __u32 pid;
    __s32 ret;
    __s32 flags;
    char comm[16];
    char path[PATH_MAX_LEN];
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u32);
    __type(value, struct open_args);
} inflight SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct open_event);
} scratch SEC(".maps");

const volatile __u32 target_tgid = 0;

SEC("tracepoint/syscalls/sys_enter_openat")
int enter_openat(struct trace_event_raw_sys_enter *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    if (target_tgid && (id >> 32) != target_tgid)
        return 0;
    __u32 tid = (__u32)id;
    struct open_args args = {
        .path = (const char *)ctx->args[1],
        .flags = (int)ctx->args[2],
    };
    bpf_map_update_elem(&inflight, &tid, &args, BPF_ANY);
    return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int exit_openat(struct trace_event_raw_sys_exit *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    __u32 tid = (__u32)id, zero = 0;
    struct open_args *args = bpf_map_lookup_elem(&inflight, &tid);
    if (!args)
        return 0;
    struct open_event *e = bpf_map_lookup_elem(&scratch, &zero);
    if (!e)
        goto out;
    e->pid = id >> 32;
    e->ret = ctx->ret;
    e->flags = args->flags;
    bpf_get_current_comm(&e->comm, sizeof(e->comm));
    bpf_probe_read_user_str(&e->path, sizeof(e->path), args->path);
    bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, e, sizeof(*e));
out:
    bpf_map_delete_elem(&inflight, &tid);
    return 0;
}
