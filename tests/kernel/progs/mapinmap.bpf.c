// Map-in-map initialised in the object: an array of hash maps, and a hash of
// arrays whose inner map is given by the definition.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct inner_hash {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} tenant_a SEC(".maps"), tenant_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner_hash);
} tenants SEC(".maps") = {
	.values = { [0] = &tenant_a, [3] = &tenant_b },
};

const volatile __u32 tenant = 0;

SEC("xdp")
int route(struct xdp_md *ctx)
{
	__u32 t = tenant, k = 1;
	void *inner = bpf_map_lookup_elem(&tenants, &t);
	if (!inner)
		return XDP_ABORTED;
	__u64 one = 1, *v = bpf_map_lookup_elem(inner, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(inner, &k, &one, BPF_ANY);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
