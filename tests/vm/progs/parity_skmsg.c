// An sk_msg program that rewrites what a socket sends, as proxies and TLS
// offload programs do: pull a range into view, push a header in, pop bytes out,
// and record what each call returned and what the program then saw.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} socks SEC(".maps");

int mode;
long rets[12];
__u32 seen[12];         // data_end - data after each step
__u32 sizes[4];
__u8 first[4];

static __noinline __u32 span(struct sk_msg_md *m)
{
	return (__u32)((long)m->data_end - (long)m->data);
}

static __noinline void put(struct sk_msg_md *m, __u8 c0, __u8 c1)
{
	__u8 *d = m->data, *e = m->data_end;

	if (d + 2 <= e) {
		d[0] = c0;
		d[1] = c1;
	}
}

SEC("sk_msg")
int rewrite(struct sk_msg_md *m)
{
	__u8 *d;

	sizes[0] = m->size;
	seen[0] = span(m);
	switch (mode) {
	case 0:         // look only; apply and cork ask nothing of a single run
		rets[0] = bpf_msg_apply_bytes(m, 0);
		rets[1] = bpf_msg_cork_bytes(m, 0);
		break;
	case 1:         // a range inside the message, written through
		rets[0] = bpf_msg_pull_data(m, 2, 6, 0);
		seen[1] = span(m);
		put(m, 'X', 'Y');
		break;
	case 2:         // a header pushed inside, then filled
		rets[0] = bpf_msg_push_data(m, 3, 4, 0);
		seen[1] = span(m);
		sizes[1] = m->size;
		rets[1] = bpf_msg_pull_data(m, 3, 7, 0);
		seen[2] = span(m);
		put(m, '[', '[');
		rets[2] = bpf_msg_pull_data(m, 5, 7, 0);
		put(m, ']', ']');
		rets[3] = bpf_msg_pull_data(m, 0, 10, 0);   // across elements: joined
		seen[3] = span(m);
		break;
	case 3:         // bytes cut out in the middle, then at the front
		rets[0] = bpf_msg_pop_data(m, 2, 3, 0);
		seen[1] = span(m);
		sizes[1] = m->size;
		rets[1] = bpf_msg_pop_data(m, 0, 1, 0);
		seen[2] = span(m);
		sizes[2] = m->size;
		break;
	case 4:         // a header in front and a trailer at the end
		rets[0] = bpf_msg_push_data(m, 0, 2, 0);
		seen[1] = span(m);
		put(m, '<', '<');
		rets[1] = bpf_msg_push_data(m, m->size, 2, 0);
		seen[2] = span(m);
		rets[2] = bpf_msg_pull_data(m, m->size - 2, m->size, 0);
		put(m, '>', '>');
		seen[3] = span(m);
		sizes[1] = m->size;
		break;
	case 5:         // what each helper refuses
		rets[0] = bpf_msg_pull_data(m, 5, 5, 0);
		rets[1] = bpf_msg_pull_data(m, 0, 1000, 0);
		rets[2] = bpf_msg_pull_data(m, 1000, 1001, 0);
		rets[3] = bpf_msg_pull_data(m, 0, 2, 1);
		rets[4] = bpf_msg_push_data(m, 1000, 1, 0);
		rets[5] = bpf_msg_push_data(m, 0, 0, 0);
		rets[6] = bpf_msg_push_data(m, 0, 1, 1);
		rets[7] = bpf_msg_pop_data(m, 0, 0, 0);
		rets[8] = bpf_msg_pop_data(m, 10, 1000, 0);
		rets[9] = bpf_msg_pop_data(m, 1000, 1, 0);
		rets[10] = bpf_msg_pop_data(m, 0, 1, 1);
		seen[1] = span(m);
		break;
	case 6:         // a pop across a pushed element
		rets[0] = bpf_msg_push_data(m, 4, 2, 0);
		rets[1] = bpf_msg_pull_data(m, 4, 6, 0);
		put(m, '+', '+');
		rets[2] = bpf_msg_pop_data(m, 2, 3, 0);
		seen[1] = span(m);
		sizes[1] = m->size;
		break;
	}
	d = m->data;
	if (d + 1 <= (__u8 *)m->data_end)
		first[0] = d[0];
	sizes[3] = m->size;
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
