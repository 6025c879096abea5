// Tail-call chains (the kernel's limit of 33), trace_printk and perf events.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u32);
} chain SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
} events SEC(".maps");

__u32 hops = 0;

SEC("xdp")
int hop(struct xdp_md *ctx)
{
    hops++;
    bpf_tail_call(ctx, &chain, 0);
    return hops;  /* reached only when the chain is cut */
}

struct event { __u32 pid; __u32 len; char msg[5]; };

SEC("xdp")
int printer(struct xdp_md *ctx)
{
    struct event e = { .pid = 7, .len = ctx->data_end - ctx->data, .msg = "hi!" };
    bpf_printk("len=%d hex=%x s=%s", e.len, 255, e.msg);
    bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, sizeof(e));
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
