// Ring buffer accounting: reserve, discard, submit, output, query, full buffer.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } rb SEC(".maps");
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 16);
    __type(key, __u32);
    __type(value, __s64);
} out SEC(".maps");

static void put(__u32 k, __s64 v) { bpf_map_update_elem(&out, &k, &v, BPF_ANY); }

SEC("xdp")
int rb_prog(struct xdp_md *ctx)
{
    __u32 len = ctx->data_end - ctx->data;
    __u64 *a = bpf_ringbuf_reserve(&rb, 24, 0);
    if (!a)
        return XDP_ABORTED;
    __u64 *b = bpf_ringbuf_reserve(&rb, 5, 0);
    if (!b) {
        bpf_ringbuf_discard(a, 0);
        return XDP_ABORTED;
    }
    a[0] = len; a[1] = 2; a[2] = 3;
    *(__u32 *)b = 0xabcdef;
    ((char *)b)[4] = 9;
    bpf_ringbuf_discard(a, 0);
    bpf_ringbuf_submit(b, 0);
    put(0, bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA));
    put(1, bpf_ringbuf_query(&rb, BPF_RB_RING_SIZE));
    put(2, bpf_ringbuf_query(&rb, BPF_RB_CONS_POS));
    put(3, bpf_ringbuf_query(&rb, BPF_RB_PROD_POS));
    __u64 v = len;
    put(4, bpf_ringbuf_output(&rb, &v, sizeof(v), BPF_RB_NO_WAKEUP));
    void *big = bpf_ringbuf_reserve(&rb, 4000, 0);   /* does not fit any more */
    put(5, big != 0);
    if (big)
        bpf_ringbuf_discard(big, 0);
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
