// SPDX-License-Identifier: GPL-2.0
/* tcpconnect: trace IPv4 TCP connect()s: who connected where, and whether the
 * connection was established. Uses the sock/inet_sock_set_state tracepoint
 * (no kprobes needed): the move to SYN_SENT happens in the connecting process,
 * so that is where pid and comm are taken; the move out of SYN_SENT
 * (ESTABLISHED, or CLOSE when refused) completes the event. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"

#define AF_INET 2
#define IPPROTO_TCP 6
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2

struct event {
	__u32 pid;
	__u32 established;	/* 1: connected, 0: failed (refused, timed out...) */
	__u8 saddr[4];
	__u8 daddr[4];
	__u16 sport;
	__u16 dport;
	char comm[TASK_COMM_LEN];
};

struct who {
	__u32 pid;
	char comm[TASK_COMM_LEN];
};

const volatile __u32 target_pid = 0;

/* socket address -> who started connecting it */
HASH(connecting, __u64, struct who, 4096);

/* connections per destination port */
HASH(by_dport, __u16, __u64, 1024);

EVENTS(struct event, 256 * 1024);

SEC("tracepoint/sock/inet_sock_set_state")
int handle_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	__u64 sk = (__u64)ctx->skaddr;
	struct who w = {}, *wp;
	struct event *e;
	__u16 dport;

	if (ctx->protocol != IPPROTO_TCP || ctx->family != AF_INET)
		return 0;
	if (ctx->newstate == TCP_SYN_SENT) {
		w.pid = bpf_get_current_pid_tgid() >> 32;
		if (target_pid && w.pid != target_pid)
			return 0;
		bpf_get_current_comm(w.comm, sizeof(w.comm));
		bpf_map_update_elem(&connecting, &sk, &w, BPF_ANY);
		return 0;
	}
	if (ctx->oldstate != TCP_SYN_SENT)
		return 0;
	wp = bpf_map_lookup_elem(&connecting, &sk);
	if (!wp)
		return 0;
	dport = ctx->dport;
	count_add(&by_dport, &dport, 1);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		e->pid = wp->pid;
		e->established = ctx->newstate == TCP_ESTABLISHED;
		__builtin_memcpy(e->saddr, ctx->saddr, 4);
		__builtin_memcpy(e->daddr, ctx->daddr, 4);
		e->sport = ctx->sport;
		e->dport = dport;
		__builtin_memcpy(e->comm, wp->comm, TASK_COMM_LEN);
		bpf_ringbuf_submit(e, 0);
	}
	bpf_map_delete_elem(&connecting, &sk);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
