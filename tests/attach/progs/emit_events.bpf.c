/* Emit one event per packet to a ring buffer and to a perf event array; runs the
 * same on both backends through test_run. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct event {
    __u32 len;
    __u32 seq;
    char tag[8];
};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} rb SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
#ifdef PERF_MAX_ENTRIES
    __uint(max_entries, PERF_MAX_ENTRIES); /* else: one slot per CPU, set at load */
#endif
} pb SEC(".maps");

__u32 seq = 0;
const struct event *unused_event __attribute__((unused));

SEC("xdp")
int emit(struct xdp_md *ctx)
{
    struct event *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
    __u32 n = __sync_fetch_and_add(&seq, 1);
    if (e) {
        e->len = ctx->data_end - ctx->data;
        e->seq = n;
        __builtin_memcpy(e->tag, "ring\0\0\0", 8);
        bpf_ringbuf_submit(e, 0);
    }
    struct event p = { .len = ctx->data_end - ctx->data, .seq = n };
    __builtin_memcpy(p.tag, "perf\0\0\0", 8);
    bpf_perf_event_output(ctx, &pb, BPF_F_CURRENT_CPU, &p, sizeof(p));
    return XDP_PASS;
}
