// SPDX-License-Identifier: GPL-2.0
/* tcpretrans: TCP retransmissions (tcp/tcp_retransmit_skb): endpoints and state. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"

struct event {
	__u64 skaddr;
	__u32 pid;
	__s32 state;
	__u16 family;
	__u16 sport;
	__u16 dport;
	__u16 pad;
	__u8 saddr[16];
	__u8 daddr[16];
};

const struct event *unused_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* retransmits per (family, saddr, sport, daddr, dport) with -c */
struct count_key {
	__u16 family;
	__u16 sport;
	__u16 dport;
	__u16 pad;
	__u8 saddr[16];
	__u8 daddr[16];
};

const volatile bool count_only = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct count_key);
	__type(value, __u64);
} counts SEC(".maps");

SEC("tracepoint/tcp/tcp_retransmit_skb")
int handle_retransmit(struct trace_event_raw_tcp_retransmit_skb *ctx)
{
	struct count_key k = {};
	struct event *e;

	if (count_only) {
		k.family = ctx->family;
		k.sport = ctx->sport;
		k.dport = ctx->dport;
		bpf_probe_read_kernel(k.saddr, 16, ctx->saddr_v6);
		bpf_probe_read_kernel(k.daddr, 16, ctx->daddr_v6);
		if (ctx->family == 2) {
			bpf_probe_read_kernel(k.saddr, 4, ctx->saddr);
			bpf_probe_read_kernel(k.daddr, 4, ctx->daddr);
			__builtin_memset(k.saddr + 4, 0, 12);
			__builtin_memset(k.daddr + 4, 0, 12);
		}
		count_add(&counts, &k, 1);
		return 0;
	}
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->skaddr = (__u64)ctx->skaddr;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->state = ctx->state;
	e->family = ctx->family;
	e->sport = ctx->sport;
	e->dport = ctx->dport;
	if (ctx->family == 2) {
		bpf_probe_read_kernel(e->saddr, 4, ctx->saddr);
		bpf_probe_read_kernel(e->daddr, 4, ctx->daddr);
	} else {
		bpf_probe_read_kernel(e->saddr, 16, ctx->saddr_v6);
		bpf_probe_read_kernel(e->daddr, 16, ctx->daddr_v6);
	}
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
