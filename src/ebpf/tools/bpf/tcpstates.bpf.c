// SPDX-License-Identifier: GPL-2.0
/* tcpstates: every TCP state change (sock/inet_sock_set_state), with the time
 * spent in the old state. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"

#define IPPROTO_TCP 6

struct event {
	__u64 skaddr;
	__u64 delta_us;
	__u32 pid;
	__s32 oldstate;
	__s32 newstate;
	struct flow flow;
	char comm[TASK_COMM_LEN];
};

const volatile __u16 target_family = 0;

HASH(since, __u64, __u64, 10240);
EVENTS(struct event, 256 * 1024);

SEC("tracepoint/sock/inet_sock_set_state")
int handle_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	__u64 sk = (__u64)ctx->skaddr, now = bpf_ktime_get_ns(), *tsp;
	struct event *e;

	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	if (target_family && ctx->family != target_family)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	tsp = bpf_map_lookup_elem(&since, &sk);
	e->delta_us = tsp ? (now - *tsp) / 1000 : 0;
	e->skaddr = sk;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->oldstate = ctx->oldstate;
	e->newstate = ctx->newstate;
	COPY_FLOW(&e->flow, ctx);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	if (ctx->newstate == 7 /* TCP_CLOSE */)
		bpf_map_delete_elem(&since, &sk);
	else
		bpf_map_update_elem(&since, &sk, &now, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
