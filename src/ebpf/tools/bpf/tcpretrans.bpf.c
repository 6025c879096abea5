// SPDX-License-Identifier: GPL-2.0
/* tcpretrans: TCP retransmissions (tcp/tcp_retransmit_skb): endpoints and state. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"

struct event {
	__u64 skaddr;
	__u32 pid;
	__s32 state;
	struct flow flow;
};

EVENTS(struct event, 256 * 1024);

const volatile bool count_only = 0;

/* retransmits per flow with -c */
HASH(counts, struct flow, __u64, 10240);

SEC("tracepoint/tcp/tcp_retransmit_skb")
int handle_retransmit(struct trace_event_raw_tcp_retransmit_skb *ctx)
{
	struct flow k = {};
	struct event *e;

	if (count_only) {
		COPY_FLOW(&k, ctx);	/* k is zeroed: AF_INET leaves 12 zero bytes */
		count_add(&counts, &k, 1);
		return 0;
	}
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->skaddr = (__u64)ctx->skaddr;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->state = ctx->state;
	COPY_FLOW(&e->flow, ctx);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
