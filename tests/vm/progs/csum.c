// Checksum helpers as NAT and load-balancer programs use them.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 16);
    __type(key, __u32);
    __type(value, __s64);
} out SEC(".maps");

static void put(__u32 k, __s64 v) { bpf_map_update_elem(&out, &k, &v, BPF_ANY); }

SEC("xdp")
int xdp_csum(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    if (data + 40 > end)
        return XDP_ABORTED;
    __u32 a[4], b[2];
    __builtin_memcpy(a, data, 16);
    __builtin_memcpy(b, data + 16, 8);
    put(0, bpf_csum_diff(a, 16, b, 8, 0));
    put(1, bpf_csum_diff(0, 0, b, 8, 0x12345));
    put(2, bpf_csum_diff(a, 16, 0, 0, 0xffffffff));
    put(3, bpf_csum_diff(a, 12, a, 12, 7));
    put(4, bpf_csum_diff(a, 3, b, 8, 0));   /* not a multiple of 4: -EINVAL */
    return XDP_PASS;
}

SEC("tc")
int tc_csum(struct __sk_buff *skb)
{
    __u32 from = 0x0a000001, to = 0xc0a80101;
    put(5, bpf_l4_csum_replace(skb, 40, from, to, BPF_F_PSEUDO_HDR | 4));
    put(6, bpf_l4_csum_replace(skb, 42, 0x1234, 0x4321, 2));
    put(7, bpf_l4_csum_replace(skb, 44, 0, 0, BPF_F_MARK_MANGLED_0 | 2));
    put(8, bpf_l3_csum_replace(skb, 24, 0, bpf_csum_diff(0, 0, &to, 4, 0), 0));
    put(9, bpf_l3_csum_replace(skb, 24, 1, 2, 3));    /* bad size: -EINVAL */
    put(10, bpf_l3_csum_replace(skb, 5000, 1, 2, 2)); /* past the end */
    return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
