/* Count calls of a user-space function and of libc's getpid. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} calls SEC(".maps"); /* 0: traced_add, 1: getpid, 2: traced_add returns, 3: sum of args */

const volatile __u32 target_tgid = 0;

static __always_inline void bump(__u32 idx, __u64 by)
{
    __u64 *v = bpf_map_lookup_elem(&calls, &idx);
    if (v)
        __sync_fetch_and_add(v, by);
}

SEC("uprobe")
int BPF_UPROBE(on_traced_add, int a, int b)
{
    bump(0, 1);
    bump(3, a + b);
    return 0;
}

SEC("uretprobe")
int BPF_URETPROBE(on_traced_add_ret, int ret)
{
    bump(2, 1);
    return 0;
}

SEC("uprobe/libc.so.6:getpid")
int on_getpid(struct pt_regs *ctx)
{
    if (target_tgid && (bpf_get_current_pid_tgid() >> 32) != target_tgid)
        return 0;
    bump(1, 1);
    return 0;
}
