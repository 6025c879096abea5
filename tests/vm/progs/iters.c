// Open-coded iterators (Linux 6.4+): bpf_for / bpf_repeat / bpf_for_each(num, ...)
// from bpf_helpers.h, and the raw kfuncs with their error returns.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

const volatile int lo = 0;
const volatile int hi = 10;

s64 sum = 0;
u32 reps = 0;
s64 each_sum = 0;
int ret_ok = 1, ret_empty = 1, ret_backwards = 1, ret_too_big = 1;
u64 next_after_error = 1, next_empty = 1;
s64 neg_sum = 0;

SEC("xdp")
int loops(struct xdp_md *ctx)
{
	int i, *v;
	s64 s = 0;

	bpf_for(i, lo, hi)
		s += i * i;
	sum = s;

	bpf_repeat(hi)
		__sync_fetch_and_add(&reps, 1);

	s = 0;
	bpf_for_each(num, v, -3, 3)
		s += *v;
	each_sum = s;

	s = 0;
	bpf_for(i, -5, -1)
		s += i;
	neg_sum = s;
	return XDP_PASS;
}

SEC("xdp")
int raw_kfuncs(struct xdp_md *ctx)
{
	struct bpf_iter_num it;

	ret_ok = bpf_iter_num_new(&it, 2, 3);
	bpf_iter_num_destroy(&it);

	ret_empty = bpf_iter_num_new(&it, 4, 4);
	next_empty = (u64)bpf_iter_num_next(&it);
	bpf_iter_num_destroy(&it);

	ret_backwards = bpf_iter_num_new(&it, 5, 1);
	next_after_error = (u64)bpf_iter_num_next(&it);
	bpf_iter_num_destroy(&it);

	ret_too_big = bpf_iter_num_new(&it, 0, 8 * 1024 * 1024 + 1);
	bpf_iter_num_destroy(&it);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
