// Map-in-maps as libbpf declares them, with a statically initialised slot.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
};

struct inner inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, 2);
    __type(key, __u32);
    __array(values, struct inner);
} outer SEC(".maps") = {
    .values = { [0] = &inner_a },
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
    __uint(max_entries, 4);
    __type(key, __u32);
    __array(values, struct inner);
} by_id SEC(".maps");

SEC("xdp")
int mim(struct xdp_md *ctx)
{
    __u32 len = ctx->data_end - ctx->data;
    __u32 slot = len & 1, k = len & 3, id = 7;
    void *in = bpf_map_lookup_elem(&outer, &slot);
    if (!in)
        return XDP_DROP;
    __u64 *v = bpf_map_lookup_elem(in, &k);
    if (v)
        *v += len;
    void *h = bpf_map_lookup_elem(&by_id, &id);
    if (h) {
        __u32 z = 0;
        __u64 *w = bpf_map_lookup_elem(h, &z);
        if (w)
            *w += 1;
    }
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
