// SPDX-License-Identifier: GPL-2.0
/* tcptop: TCP bytes sent and received per process and connection.
 * sock/sock_send_length and sock/sock_recv_length (the classic tool's kprobes on
 * tcp_sendmsg/tcp_cleanup_rbuf need kprobes); endpoints by CO-RE from the sock. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "tools.h"

#define IPPROTO_TCP 6

struct key_t {
	__u32 pid;
	struct flow flow;
	char comm[TASK_COMM_LEN];
};

struct traffic {
	__u64 sent;
	__u64 received;
};

const volatile __u32 target_pid = 0;

HASH(ip_map, struct key_t, struct traffic, 10240);

static __always_inline int account(struct sock *sk, __u16 family, __u16 protocol, int ret,
				   bool sending)
{
	struct key_t k = {};
	struct traffic *t, zero = {};

	if (protocol != IPPROTO_TCP || ret <= 0)
		return 0;
	k.pid = bpf_get_current_pid_tgid() >> 32;
	if (target_pid && k.pid != target_pid)
		return 0;
	k.flow.family = family;
	k.flow.sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	k.flow.dport = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == 2) {
		__u32 s4 = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 d4 = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		__builtin_memcpy(k.flow.saddr, &s4, 4);
		__builtin_memcpy(k.flow.daddr, &d4, 4);
	} else {
		BPF_CORE_READ_INTO(&k.flow.saddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&k.flow.daddr, sk, __sk_common.skc_v6_daddr);
	}
	bpf_get_current_comm(k.comm, sizeof(k.comm));
	t = lookup_or_init(&ip_map, &k, &zero);
	if (!t)
		return 0;
	if (sending)
		__sync_fetch_and_add(&t->sent, ret);
	else
		__sync_fetch_and_add(&t->received, ret);
	return 0;
}

SEC("tracepoint/sock/sock_send_length")
int handle_send(struct trace_event_raw_sock_msg_length *ctx)
{
	return account(ctx->sk, ctx->family, ctx->protocol, ctx->ret, true);
}

SEC("tracepoint/sock/sock_recv_length")
int handle_recv(struct trace_event_raw_sock_msg_length *ctx)
{
	return account(ctx->sk, ctx->family, ctx->protocol, ctx->ret, false);
}

char LICENSE[] SEC("license") = "GPL";
