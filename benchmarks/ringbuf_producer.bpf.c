/* Producer for the ring buffer benchmark: each run of the program (driven by
 * BPF_PROG_TEST_RUN with a repeat count) writes one 16-byte record carrying a
 * sequence number, so consumers can check that nothing was lost or reordered. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct record {
    __u64 seq;
    __u64 payload;
};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 20);
} events SEC(".maps");

__u64 next_seq = 0;
__u64 reserve_failures = 0;

SEC("xdp")
int produce(struct xdp_md *ctx)
{
    struct record *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
    if (!r) {
        __sync_fetch_and_add(&reserve_failures, 1);
        return XDP_PASS;
    }
    r->seq = __sync_fetch_and_add(&next_seq, 1);
    r->payload = 0x5eed;
    bpf_ringbuf_submit(r, 0);
    return XDP_PASS;
}
