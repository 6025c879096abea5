// cgroup storage as per-cgroup packet counters use it: a shared counter and a
// per-CPU byte count, kept by a cgroup_skb program.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct stats { __u64 packets; __u64 bytes; };

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_STORAGE);
	__type(key, struct bpf_cgroup_storage_key);
	__type(value, struct stats);
} shared SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE);
	__type(key, __u64);
	__type(value, __u64);
} percpu SEC(".maps");

__u64 seen_packets, seen_bytes, seen_percpu;

SEC("cgroup_skb/egress")
int count(struct __sk_buff *skb)
{
	struct stats *s = bpf_get_local_storage(&shared, 0);
	__u64 *pc = bpf_get_local_storage(&percpu, 0);

	__sync_fetch_and_add(&s->packets, 1);
	s->bytes += skb->len;
	*pc += 2;
	seen_packets = s->packets;
	seen_bytes = s->bytes;
	seen_percpu = *pc;
	return s->packets & 1;
}

char LICENSE[] SEC("license") = "GPL";
