/* Records of variable length (1..64 bytes, copied from the packet) or a reserved
 * then discarded record, as the first two packet bytes say. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} rb SEC(".maps");

SEC("xdp")
int emit_var(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    unsigned char *p = data;
    char buf[64] = {};

    if ((void *)(p + 2) > data_end)
        return XDP_ABORTED;
    __u64 len = (p[0] & 63) + 1; /* 1..64 */
    if (p[1]) {
        void *r = bpf_ringbuf_reserve(&rb, 24, 0);
        if (r)
            bpf_ringbuf_discard(r, 0);
        return XDP_PASS;
    }
    if (bpf_xdp_load_bytes(ctx, 2, buf, len))
        return XDP_ABORTED;
    if (bpf_ringbuf_output(&rb, buf, len, 0))
        return XDP_DROP; /* full */
    return XDP_PASS;
}
