/* Count syscalls per process from the raw sys_enter tracepoint. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32);
    __type(value, __u64);
} counts SEC(".maps");

const volatile __u32 target_tgid = 0;

SEC("raw_tp/sys_enter")
int count_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (target_tgid && tgid != target_tgid)
        return 0;
    __u64 one = 1, *val = bpf_map_lookup_elem(&counts, &tgid);
    if (val)
        __sync_fetch_and_add(val, 1);
    else
        bpf_map_update_elem(&counts, &tgid, &one, BPF_NOEXIST);
    return 0;
}
