// Subprograms: static functions shared by two programs, a global (non-static)
// function, a bpf_loop callback passed by address, a static function in a
// program section.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} totals SEC(".maps");

__u64 loops_done;

static __attribute__((noinline)) __u64 mix(__u64 x)
{
	return (x * 2654435761ULL) ^ (x >> 7);
}

static __attribute__((noinline)) __u64 add_total(__u64 v)
{
	__u32 k = 0;
	__u64 *t = bpf_map_lookup_elem(&totals, &k);
	if (t)
		*t += mix(v);
	return v;
}

__attribute__((noinline)) int global_helper(int x)
{
	return x * 3 + 1;
}

static int loop_cb(__u32 index, void *ctx)
{
	__u64 *sum = ctx;
	*sum += mix(index);
	loops_done++;
	return 0;
}

SEC("raw_tp/sys_enter")
int prog_a(void *ctx)
{
	__u64 sum = 0;
	bpf_loop(16, loop_cb, &sum, 0);
	add_total(sum);
	return global_helper(1);
}

SEC("fentry/do_unlinkat")
int prog_b(void *ctx)
{
	add_total(bpf_ktime_get_ns());
	return 0;
}

SEC("socket")
int prog_c(struct __sk_buff *skb)
{
	return mix(skb->len) & 1;
}
