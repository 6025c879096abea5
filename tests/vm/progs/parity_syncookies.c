// An XDP SYN proxy's cookie work without a listener: a SYN gets a cookie and
// the MSS it stands for, an ACK's cookie is checked (as xdp_synproxy does).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

__u32 th_len_in;     // 0: the header's own doff * 4
__s64 gen_ret, check_ret;

SEC("xdp")
int cookies(struct xdp_md *ctx)
{
	__u8 ip[40], th[64];
	__u16 proto;
	__u32 l4, len;
	int v6;

	if (bpf_xdp_load_bytes(ctx, 12, &proto, 2))
		return XDP_DROP;
	v6 = proto == bpf_htons(0x86dd);
	l4 = v6 ? 14 + 40 : 14 + 20;
	if (bpf_xdp_load_bytes(ctx, 14, ip, sizeof(ip)) ||
	    bpf_xdp_load_bytes(ctx, l4, th, sizeof(th)))
		return XDP_DROP;
	if ((th[13] & 0x12) == 0x02) {          // SYN without ACK
		len = th_len_in ? th_len_in : (th[12] >> 4) * 4;
		len = ((len - 1) & 63) + 1;     // 1..64: the verifier's bound
		gen_ret = v6 ? bpf_tcp_raw_gen_syncookie_ipv6((void *)ip, (void *)th, len)
			     : bpf_tcp_raw_gen_syncookie_ipv4((void *)ip, (void *)th, len);
	} else if (th[13] & 0x10) {              // ACK
		check_ret = v6 ? bpf_tcp_raw_check_syncookie_ipv6((void *)ip, (void *)th)
			       : bpf_tcp_raw_check_syncookie_ipv4((void *)ip, (void *)th);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
