// BPF arena (Linux 6.9+): globals declared __arena live in the arena map.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define __arena __attribute__((address_space(1)))

struct {
	__uint(type, 33 /* BPF_MAP_TYPE_ARENA */);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 10); /* pages */
} arena SEC(".maps");

int __arena counter = 5;
int __arena hits;

SEC("syscall")
int bump(void *ctx)
{
	counter++;
	hits += 2;
	return counter;
}

char LICENSE[] SEC("license") = "GPL";
