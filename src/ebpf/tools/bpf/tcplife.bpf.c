// SPDX-License-Identifier: GPL-2.0
/* tcplife: one event per closed TCP session: who, endpoints, bytes each way and
 * how long it lived. sock/inet_sock_set_state; byte counts are CO-RE reads of
 * tcp_sock. The process is the one seen connecting or closing (process context),
 * else the current task when the socket closes. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "tools.h"

#define IPPROTO_TCP 6
enum { ESTABLISHED = 1, SYN_SENT, SYN_RECV, FIN_WAIT1, FIN_WAIT2, TIME_WAIT, CLOSE,
       CLOSE_WAIT, LAST_ACK, LISTEN, CLOSING };

struct ident {
	__u32 pid;
	char comm[TASK_COMM_LEN];
};

struct event {
	__u64 span_us;
	__u64 rx_b;
	__u64 tx_b;
	__u32 pid;
	struct flow flow;
	char comm[TASK_COMM_LEN];
};

const volatile __u32 target_pid = 0;

HASH(birth, __u64, __u64, 10240);
HASH(idents, __u64, struct ident, 10240);
EVENTS(struct event, 256 * 1024);

SEC("tracepoint/sock/inet_sock_set_state")
int handle_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	__u64 sk = (__u64)ctx->skaddr, now = bpf_ktime_get_ns(), *start;
	struct tcp_sock *tp = (struct tcp_sock *)ctx->skaddr;
	struct ident me = {}, *who;
	struct event *e;
	int ns = ctx->newstate;

	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	if (ns < FIN_WAIT1 && !bpf_map_lookup_elem(&birth, &sk))
		bpf_map_update_elem(&birth, &sk, &now, BPF_ANY);
	if (ns == SYN_SENT || ns == FIN_WAIT1 || ns == LAST_ACK) {
		me.pid = bpf_get_current_pid_tgid() >> 32;
		bpf_get_current_comm(me.comm, sizeof(me.comm));
		bpf_map_update_elem(&idents, &sk, &me, BPF_ANY);
	}
	if (ns != CLOSE)
		return 0;
	start = bpf_map_lookup_elem(&birth, &sk);
	if (!start)
		goto out;	/* born before we started: lifetime unknown */
	who = bpf_map_lookup_elem(&idents, &sk);
	if (!who) {
		me.pid = bpf_get_current_pid_tgid() >> 32;
		bpf_get_current_comm(me.comm, sizeof(me.comm));
		who = &me;
	}
	if (target_pid && who->pid != target_pid)
		goto out;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		goto out;
	e->span_us = (now - *start) / 1000;
	e->rx_b = BPF_CORE_READ(tp, bytes_received);
	e->tx_b = BPF_CORE_READ(tp, bytes_acked);
	e->pid = who->pid;
	__builtin_memcpy(e->comm, who->comm, TASK_COMM_LEN);
	COPY_FLOW(&e->flow, ctx);
	bpf_ringbuf_submit(e, 0);
out:
	bpf_map_delete_elem(&birth, &sk);
	bpf_map_delete_elem(&idents, &sk);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
