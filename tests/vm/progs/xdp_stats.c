#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, __u64);
} bytes_by_proto SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} pkts SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u32);
} jmp SEC(".maps");

__u64 seen = 0;
const volatile __u32 drop_proto = 17;
char last[8] = {};

static __noinline __u32 sum_bytes(const __u8 *p, const __u8 *end)
{
    __u32 s = 0;
    for (int i = 0; i < 32; i++) {
        if (p + i + 1 > end)
            break;
        s = s * 31 + p[i];
    }
    return s;
}

SEC("xdp")
int xdp_tail(struct xdp_md *ctx)
{
    return XDP_TX;
}

SEC("xdp")
int xdp_main(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    __u32 k = 0;
    __u64 *c = bpf_map_lookup_elem(&pkts, &k);
    if (c)
        (*c)++;
    __sync_fetch_and_add(&seen, 1);
    if ((void *)(eth + 1) > data_end)
        return XDP_ABORTED;
    if (eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end)
        return XDP_DROP;
    __u32 proto = ip->protocol;
    __u64 len = bpf_ntohs(ip->tot_len);
    __u64 *v = bpf_map_lookup_elem(&bytes_by_proto, &proto);
    if (v) __sync_fetch_and_add(v, len);
    else bpf_map_update_elem(&bytes_by_proto, &proto, &len, BPF_NOEXIST);
    __builtin_memcpy(last, data, 6);
    if (proto == drop_proto)
        return XDP_DROP;
    if (ip->ttl == 1)
        bpf_tail_call(ctx, &jmp, 0);
    __u32 h = sum_bytes(data, data_end);
    if (h & 1) {
        if (bpf_xdp_adjust_head(ctx, 14))
            return XDP_ABORTED;
    }
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
