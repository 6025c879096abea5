// An arena as the schedulers and security tools that use one do: a linked list of
// page-sized nodes the program allocates, __arena globals, freeing and reuse.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define __arena __attribute__((address_space(1)))
#define NUMA_NO_NODE (-1)

struct {
	__uint(type, 33 /* BPF_MAP_TYPE_ARENA: newer than some system headers */);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 16); /* pages */
} arena SEC(".maps");

void __arena *bpf_arena_alloc_pages(void *map, void __arena *addr, __u32 page_cnt,
				    int node_id, __u64 flags) __ksym __weak;
void bpf_arena_free_pages(void *map, void __arena *ptr, __u32 page_cnt) __ksym __weak;

struct node {
	struct node __arena *next;
	__u64 value;
};

struct node __arena *head;
__u64 __arena total;
int __arena ncount = 100;
char __arena tag[8] = "arena";

__u64 addrs[8];
long results[8] = {9, 9, 9, 9, 9, 9, 9, 9};

SEC("syscall")
int build(void *ctx)
{
	struct node __arena *n;
	int i;

	for (i = 0; i < 5; i++) {
		n = bpf_arena_alloc_pages(&arena, NULL, 1, NUMA_NO_NODE, 0);
		if (!n)
			return -1;
		n->value = i * 10 + 1;
		n->next = head;
		head = n;
		addrs[i] = (__u64)n;
		ncount++;
	}
	tag[0] = 'A';
	return ncount;
}

SEC("syscall")
int walk(void *ctx)
{
	struct node __arena *n = head;
	__u64 sum = 0;
	int i;

	for (i = 0; i < 20 && n; i++) {
		sum += n->value;
		n = n->next;
	}
	total = sum;
	return i;
}

SEC("syscall")
int edges(void *ctx)
{
	struct node __arena *p, *q;

	results[0] = bpf_arena_alloc_pages(&arena, NULL, 0, NUMA_NO_NODE, 0) ? 1 : 0;
	results[1] = bpf_arena_alloc_pages(&arena, NULL, 1, NUMA_NO_NODE, 1) ? 1 : 0;
	results[2] = bpf_arena_alloc_pages(&arena, NULL, 17, NUMA_NO_NODE, 0) ? 1 : 0;
	results[3] = bpf_arena_alloc_pages(&arena, NULL, 1, 4000, 0) ? 1 : 0;
	p = bpf_arena_alloc_pages(&arena, NULL, 3, NUMA_NO_NODE, 0);
	if (!p)
		return -1;
	addrs[5] = (__u64)p;
	p->value = 77;
	bpf_arena_free_pages(&arena, p, 3);
	results[4] = p->value;                  /* freed: reads zero */
	q = bpf_arena_alloc_pages(&arena, p, 1, NUMA_NO_NODE, 0);
	results[5] = q == p;                    /* the page asked for, free again */
	results[6] = bpf_arena_alloc_pages(&arena, p, 1, NUMA_NO_NODE, 0) ? 1 : 0;
	results[7] = bpf_arena_alloc_pages(&arena, (char __arena *)p + 8, 1, NUMA_NO_NODE, 0) ? 1 : 0;
	addrs[6] = (__u64)bpf_arena_alloc_pages(&arena, NULL, 1, NUMA_NO_NODE, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
