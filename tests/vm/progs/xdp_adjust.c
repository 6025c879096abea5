// Encapsulation / trimming / metadata, as XDP load balancers do.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __s64);
} results SEC(".maps");

volatile const int mode = 0;

SEC("xdp")
int xdp_adjust(struct xdp_md *ctx)
{
    __u32 k0 = 0, k1 = 1, k2 = 2;
    __s64 r;
    if (mode == 0) {          /* push an outer header of 8 bytes */
        r = bpf_xdp_adjust_head(ctx, -8);
        bpf_map_update_elem(&results, &k0, &r, 0);
        if (r) return XDP_ABORTED;
        void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
        if (data + 8 + sizeof(struct ethhdr) > end) return XDP_ABORTED;
        __builtin_memcpy(data, data + 8, 12);
        *(__u64 *)(data + 12) = 0x1122334455667788ULL;
        return XDP_TX;
    }
    if (mode == 1) {          /* trim 4 bytes, then grow by 10 */
        r = bpf_xdp_adjust_tail(ctx, -4);
        bpf_map_update_elem(&results, &k0, &r, 0);
        r = bpf_xdp_adjust_tail(ctx, 10);
        bpf_map_update_elem(&results, &k1, &r, 0);
        r = bpf_xdp_adjust_tail(ctx, 4000);
        bpf_map_update_elem(&results, &k2, &r, 0);
        return XDP_PASS;
    }
    if (mode == 2) {          /* metadata */
        r = bpf_xdp_adjust_meta(ctx, -8);
        bpf_map_update_elem(&results, &k0, &r, 0);
        if (r) return XDP_ABORTED;
        void *meta = (void *)(long)ctx->data_meta, *data = (void *)(long)ctx->data;
        if (meta + 8 > data) return XDP_ABORTED;
        *(__u64 *)meta = 0xabcdef;
        r = bpf_xdp_adjust_meta(ctx, -3);
        bpf_map_update_elem(&results, &k1, &r, 0);
        return XDP_PASS;
    }
    /* too far: both must fail */
    r = bpf_xdp_adjust_head(ctx, -1000);
    bpf_map_update_elem(&results, &k0, &r, 0);
    r = bpf_xdp_adjust_head(ctx, 10000);
    bpf_map_update_elem(&results, &k1, &r, 0);
    r = bpf_xdp_adjust_head(ctx, -216);
    bpf_map_update_elem(&results, &k2, &r, 0);
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
