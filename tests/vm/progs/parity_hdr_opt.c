// A sock_ops program that carries its own TCP header option, as in-band
// telemetry and connection-tagging programs do: room reserved and the option
// written on the client's SYN, found again in the packets the two ends receive.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

long lens[6], writes[6], parses[8], est[4];
__u8 found_write[8], found_parse[8];
__u32 done_len, done_write, done_parse, done_est, parse_flags;

static const __u8 opt[6] = {253, 6, 0xeb, 0x9f, 0x12, 0x34};

static __always_inline void magic_search(__u8 *b, __u8 m0, __u8 m1)
{
	__builtin_memset(b, 0, 8);
	b[0] = 253;
	b[1] = 4;
	b[2] = m0;
	b[3] = m1;
}

SEC("sockops")
int hdr(struct bpf_sock_ops *s)
{
	__u8 buf[8];

	switch (s->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		bpf_sock_ops_cb_flags_set(s, BPF_SOCK_OPS_WRITE_HDR_OPT_CB_FLAG);
		break;
	case BPF_SOCK_OPS_TCP_LISTEN_CB:
		bpf_sock_ops_cb_flags_set(s, BPF_SOCK_OPS_PARSE_UNKNOWN_HDR_OPT_CB_FLAG);
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		bpf_sock_ops_cb_flags_set(s, BPF_SOCK_OPS_PARSE_UNKNOWN_HDR_OPT_CB_FLAG);
		break;
	case BPF_SOCK_OPS_HDR_OPT_LEN_CB:
		if (s->skb_tcp_flags != 0x02 || done_len++) {
			bpf_reserve_hdr_opt(s, 6, 0);   // every other packet carries it too
			break;
		}
		lens[0] = bpf_reserve_hdr_opt(s, 1, 0);
		lens[1] = bpf_reserve_hdr_opt(s, 6, 1);
		lens[2] = bpf_reserve_hdr_opt(s, 100, 0);
		lens[3] = bpf_reserve_hdr_opt(s, 6, 0);
		lens[4] = bpf_store_hdr_opt(s, opt, 6, 0);
		magic_search(buf, 0xeb, 0x9f);
		lens[5] = bpf_load_hdr_opt(s, buf, 8, 0);
		break;
	case BPF_SOCK_OPS_WRITE_HDR_OPT_CB:
		if (s->skb_tcp_flags != 0x02 || done_write++) {
			bpf_store_hdr_opt(s, opt, 6, 0);
			break;
		}
		writes[0] = bpf_store_hdr_opt(s, opt, 5, 0);
		writes[1] = bpf_store_hdr_opt(s, opt, 6, 1);
		writes[2] = bpf_store_hdr_opt(s, opt, 6, 0);
		writes[3] = bpf_store_hdr_opt(s, opt, 6, 0);
		magic_search(buf, 0xeb, 0x9f);
		writes[4] = bpf_load_hdr_opt(s, buf, 8, 0);
		__builtin_memcpy(found_write, buf, 8);
		writes[5] = bpf_reserve_hdr_opt(s, 2, 0);
		break;
	case BPF_SOCK_OPS_PARSE_HDR_OPT_CB:
		if (done_parse++)
			break;                          // the first packet with our option
		parse_flags = s->skb_tcp_flags;
		magic_search(buf, 0xeb, 0x9f);
		parses[0] = bpf_load_hdr_opt(s, buf, 8, 0);
		__builtin_memcpy(found_parse, buf, 8);
		magic_search(buf, 0x11, 0x22);
		parses[1] = bpf_load_hdr_opt(s, buf, 8, 0);
		magic_search(buf, 0xeb, 0x9f);
		parses[2] = bpf_load_hdr_opt(s, buf, 4, 0);
		buf[1] = 5;
		parses[3] = bpf_load_hdr_opt(s, buf, 8, 0);
		buf[0] = 8;                             // timestamps, with a length: no
		buf[1] = 2;
		parses[4] = bpf_load_hdr_opt(s, buf, 8, 0);
		magic_search(buf, 0xeb, 0x9f);
		parses[5] = bpf_load_hdr_opt(s, buf, 8, 1);
		parses[6] = bpf_load_hdr_opt(s, buf, 8, 2);
		parses[7] = bpf_reserve_hdr_opt(s, 2, 0);
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		if (done_est++)
			break;
		est[0] = bpf_reserve_hdr_opt(s, 2, 0);
		est[1] = bpf_store_hdr_opt(s, opt, 6, 0);
		__builtin_memset(buf, 0, 8);
		buf[0] = 2;                             // the SYN-ACK's MSS
		est[2] = bpf_load_hdr_opt(s, buf, 8, 0);
		magic_search(buf, 0xeb, 0x9f);
		est[3] = bpf_load_hdr_opt(s, buf, 8, 0);
		break;
	}
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
