// Map attributes beyond the usual: __ulong, map_extra, numa_node, pinning, perf
// event arrays without sizes, LPM tries with BTF keys, typedef'd definitions,
// custom data sections, a "sk_lookup/label" section.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#ifndef __ulong
#define __ulong(name, val) enum { ___bpf_concat(__unique_value, __COUNTER__) = val } name
#endif

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 1000);
	__type(value, __u32);
	__ulong(map_extra, 5);
} bloom SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(max_entries, 8);
} events SEC(".maps");

struct lpm_key {
	__u32 prefixlen;
	__u32 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 255);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE);
	__uint(numa_node, 0);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__type(key, struct lpm_key);
	__type(value, __u64);
} routes SEC(".maps");

typedef struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 24);
	__uint(max_entries, 2);
} array_t;

array_t typed SEC(".maps");

int counter SEC(".data.counters") = 42;
const volatile char tag[8] SEC(".rodata.config") = "abc";

SEC("sk_lookup/dispatch")
int lookup(struct bpf_sk_lookup *ctx)
{
	__u32 v = ctx->local_port;
	struct lpm_key k = { 32, ctx->local_ip4 };
	__u64 *r = bpf_map_lookup_elem(&routes, &k);
	bpf_map_push_elem(&bloom, &v, 0);
	counter += tag[0];
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &v, sizeof(v));
	return r ? SK_PASS : SK_DROP;
}
