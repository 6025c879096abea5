// A user ring buffer drained by a program (requests from user space, replies in a
// ring buffer through dynptrs), as control planes feed their data path.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, 4096);
} requests SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} replies SEC(".maps");

long drain_ret = 99, bad_flags_ret = 99, nested_ret = 99;
__u64 sum;
__u32 seen, short_samples, stop_at;
__u32 sizes[8];

static long on_nested(struct bpf_dynptr *dynptr, void *ctx)
{
	return 0;
}

static long on_sample(struct bpf_dynptr *dynptr, void *ctx)
{
	struct bpf_dynptr out;
	__u32 v = 0, w = 0;
	__u64 *p;

	if (bpf_dynptr_read(&v, sizeof(v), dynptr, 0, 0)) {
		short_samples++;
		return 0;
	}
	if (seen < 8)
		sizes[seen & 7] = bpf_dynptr_read(&w, sizeof(w), dynptr, 2, 0) ?: 1;
	if (seen == 0)
		nested_ret = bpf_user_ringbuf_drain(&requests, on_nested, NULL, 0);
	sum += v;
	seen++;
	bpf_ringbuf_reserve_dynptr(&replies, 8, 0, &out);
	p = bpf_dynptr_data(&out, 0, 8);
	if (p)
		*p = (__u64)v * 2;
	bpf_ringbuf_submit_dynptr(&out, 0);
	return v == stop_at;
}

SEC("tc")
int drain(struct __sk_buff *skb)
{
	bad_flags_ret = bpf_user_ringbuf_drain(&requests, on_sample, NULL, 4);
	drain_ret = bpf_user_ringbuf_drain(&requests, on_sample, NULL, 0);
	return drain_ret;
}

/* dynptrs over program memory: reads, writes, data slices and their errors */
char buf[16] = "dynptr-buffer!!";
long dp_ret[8] = {9, 9, 9, 9, 9, 9, 9, 9};
char dp_copy[8];

SEC("tc")
int dynptrs(struct __sk_buff *skb)
{
	struct bpf_dynptr d, bad;
	char *p;

	dp_ret[0] = bpf_dynptr_from_mem(buf, sizeof(buf), 0, &d);
	dp_ret[1] = bpf_dynptr_read(dp_copy, 8, &d, 4, 0);
	dp_ret[2] = bpf_dynptr_read(dp_copy, 8, &d, 12, 0);
	dp_ret[3] = bpf_dynptr_write(&d, 0, "DY", 2, 0);
	dp_ret[4] = bpf_dynptr_write(&d, 0, "DY", 2, 1);
	p = bpf_dynptr_data(&d, 14, 2);
	dp_ret[5] = p ? p[0] : -1;
	p = bpf_dynptr_data(&d, 15, 2);
	dp_ret[6] = p ? 1 : 0;
	dp_ret[7] = bpf_dynptr_from_mem(buf, sizeof(buf), 1, &bad);
	if (!dp_ret[7])
		return 1;
	return bpf_dynptr_read(dp_copy, 1, &bad, 0, 0);
}

char LICENSE[] SEC("license") = "GPL";
