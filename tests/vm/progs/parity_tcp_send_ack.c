// A BPF congestion control that acknowledges at once on every congestion-avoidance
// step, as DCTCP-style controls do when their ECN state changes.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

long ack_ret = 1;
__u64 acks;

SEC("struct_ops/ack_ssthresh")
__u32 BPF_PROG(ack_ssthresh, struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;

	return tp->snd_cwnd > 4 ? tp->snd_cwnd >> 1 : 2;
}

SEC("struct_ops/ack_undo_cwnd")
__u32 BPF_PROG(ack_undo_cwnd, struct sock *sk)
{
	return ((const struct tcp_sock *)sk)->snd_cwnd;
}

SEC("struct_ops/ack_cong_avoid")
void BPF_PROG(ack_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;

	ack_ret = bpf_tcp_send_ack(tp, tp->rcv_nxt);
	__sync_fetch_and_add(&acks, 1);
}

SEC(".struct_ops.link")
struct tcp_congestion_ops ebpf_ack_cc = {
	.ssthresh = (void *)ack_ssthresh,
	.undo_cwnd = (void *)ack_undo_cwnd,
	.cong_avoid = (void *)ack_cong_avoid,
	.name = "ebpf_ack_cc",
};

char LICENSE[] SEC("license") = "GPL";
