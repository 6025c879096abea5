// What tools/parity_sweep.py compares after runs: a per-CPU counter map, a hash map,
// ring buffer records and a clock reading written into the packet.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} per_kind SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} by_len SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

SEC("xdp")
int probe(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 len = end - data, kind;
	__u64 one = 1, *n;

	if (data + 24 > end)
		return XDP_DROP;
	kind = *(__u8 *)data & 3;
	n = bpf_map_lookup_elem(&per_kind, &kind);
	if (n)
		*n += len;
	if (bpf_map_update_elem(&by_len, &len, &one, BPF_NOEXIST)) {
		n = bpf_map_lookup_elem(&by_len, &len);
		if (n)
			__sync_fetch_and_add(n, 1);
	}
	bpf_ringbuf_output(&events, &len, sizeof(len), 0);
	*(__u64 *)(data + 16) = bpf_ktime_get_ns();
	return kind == 3 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
