// Programs fed by the vm's hooks: packets from a capture, a timer, a tracepoint.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16);
    __type(key, __u16);
    __type(value, __u64);
} by_type SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
} ticks SEC(".maps");

SEC("xdp")
int count_types(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end)
        return XDP_DROP;
    __u16 t = bpf_ntohs(eth->h_proto);
    __u64 one = 1, *v = bpf_map_lookup_elem(&by_type, &t);
    if (v)
        __sync_fetch_and_add(v, 1);
    else
        bpf_map_update_elem(&by_type, &t, &one, BPF_NOEXIST);
    return t == ETH_P_IPV6 ? XDP_DROP : XDP_PASS;
}

SEC("perf_event")
int sample(void *ctx)
{
    __u32 k = 0;
    __u64 *v = bpf_map_lookup_elem(&ticks, &k);
    if (v)
        __sync_fetch_and_add(v, 1);
    return 0;
}

struct execve_args { __u64 pad; __s32 nr; __u32 pad2; const char *filename; };

SEC("tracepoint/syscalls/sys_enter_execve")
int on_execve(struct execve_args *ctx)
{
    __u32 k = 1;
    __u64 *v = bpf_map_lookup_elem(&ticks, &k);
    if (v)
        __sync_fetch_and_add(v, ctx->nr);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
