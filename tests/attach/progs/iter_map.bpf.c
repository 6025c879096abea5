/* A map element iterator: print "key value" for every element of a hash map. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, __u64);
} table SEC(".maps");

SEC("iter/bpf_map_elem")
int dump_table(struct bpf_iter__bpf_map_elem *ctx)
{
    struct seq_file *seq = ctx->meta->seq;
    __u32 *key = ctx->key;
    __u64 *val = ctx->value;
    if (!key || !val)
        return 0;
    BPF_SEQ_PRINTF(seq, "%u %llu\n", *key, *val);
    return 0;
}
