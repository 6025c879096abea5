// Callbacks and loops as modern tools write them: bpf_loop with a static
// callback (lddw of a function address), bpf_for_each_map_elem, a global
// (separately verified) function, and an open-coded numeric iterator.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} values SEC(".maps");

extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym;

struct loop_ctx {
	__u64 sum;
};

static long add_index(__u64 index, struct loop_ctx *c)
{
	c->sum += index;
	return 0;
}

static long sum_values(struct bpf_map *map, __u32 *key, __u64 *val, struct loop_ctx *c)
{
	c->sum += *val;
	return 0;
}

__noinline int global_square(int x)
{
	return x * x;
}

__u64 loop_sum, map_sum, iter_sum;
int squared;

SEC("xdp")
int callbacks(struct xdp_md *ctx)
{
	struct loop_ctx c = {};
	struct bpf_iter_num it;
	int *v;

	bpf_loop(10, add_index, &c, 0);
	loop_sum = c.sum;

	c.sum = 0;
	bpf_for_each_map_elem(&values, sum_values, &c, 0);
	map_sum = c.sum;

	__u64 s = 0;
	bpf_iter_num_new(&it, 0, 5);
	while ((v = bpf_iter_num_next(&it)))
		s += *v;
	bpf_iter_num_destroy(&it);
	iter_sum = s;

	squared = global_square(ctx->data_end - ctx->data);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
