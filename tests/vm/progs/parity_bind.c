// A connect hook that pins the source address of outgoing connections, as
// egress-gateway and multi-homing setups do: bpf_bind before the connect, and
// the socket's mark set for policy routing.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define AF_INET 2
#define AF_UNIX 1

long rets[6], opts[4];
__u32 seen[5];
int mark_in = 9, mark_out;
__u8 no_syn[8];

SEC("cgroup/connect4")
int pin_source(struct bpf_sock_addr *ctx)
{
	struct sockaddr_in sa = {};

	seen[0] = ctx->user_family;
	seen[1] = ctx->user_ip4;
	seen[2] = ctx->user_port;
	seen[3] = ctx->type;
	seen[4] = ctx->protocol;
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = bpf_htonl(0x7f000002);          /* 127.0.0.2 */
	rets[0] = bpf_bind(ctx, (struct sockaddr *)&sa, 1);
	rets[1] = bpf_bind(ctx, (struct sockaddr *)&sa, 8);
	sa.sin_family = AF_UNIX;
	rets[2] = bpf_bind(ctx, (struct sockaddr *)&sa, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = bpf_htonl(0xc0000201);          /* 192.0.2.1: not local */
	rets[3] = bpf_bind(ctx, (struct sockaddr *)&sa, sizeof(sa));
	sa.sin_addr.s_addr = bpf_htonl(0x7f000002);
	rets[4] = bpf_bind(ctx, (struct sockaddr *)&sa, sizeof(sa));
	rets[5] = bpf_bind(ctx, (struct sockaddr *)&sa, sizeof(sa));   /* again: no port was taken */
	/* the socket's options, as in sock_ops */
	opts[0] = bpf_setsockopt(ctx, 1 /* SOL_SOCKET */, 36 /* SO_MARK */, &mark_in, 4);
	opts[1] = bpf_getsockopt(ctx, 1, 36, &mark_out, 4);
	opts[2] = bpf_setsockopt(ctx, 6 /* SOL_TCP */, 1001 /* TCP_BPF_IW */, &mark_in, 4);
	opts[3] = bpf_getsockopt(ctx, 6, 1005 /* TCP_BPF_SYN */, no_syn, sizeof(no_syn));
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
