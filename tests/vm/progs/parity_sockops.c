// A sock_ops program as TCP tuning and service-mesh programs write them: on an
// established connection it sets options (and some it may not), reads them back,
// and files the socket in a sockhash; the listener too.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define SOL_SOCKET 1
#define SOL_TCP 6
#define SOL_IP 0
#define SOL_IPV6 41
#define SO_KEEPALIVE 9
#define SO_MARK 36
#define SO_LINGER 13
#define SO_BINDTODEVICE 25
#define TCP_NODELAY 1
#define TCP_KEEPIDLE 4
#define TCP_CONGESTION 13
#define IP_TOS 1
#define IPV6_TCLASS 67

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} slots SEC(".maps");

long rets[16][24];          // by callback, by step
__u32 ints[16][6];
char cc[16][16], dev[16][8];
__u32 ports[16][2];

static __always_inline long set_int(struct bpf_sock_ops *s, int level, int name, int v)
{
	return bpf_setsockopt(s, level, name, &v, sizeof(v));
}

SEC("sockops")
int tune(struct bpf_sock_ops *s)
{
	__u32 op = s->op, key, *i;
	long *r;
	char reno[] = "reno", cdg[] = "cdg", none[] = "nosuchcc";
	__u64 big = 1;

	if (op >= 16)
		return 1;
	r = rets[op];
	i = ints[op];
	ports[op][0] = s->local_port;
	ports[op][1] = bpf_ntohl(s->remote_port);
	key = op;
	r[0] = bpf_sock_hash_update(s, &conns, &key, BPF_ANY);
	if (op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB)
		return 1;
	r[1] = bpf_sock_hash_update(s, &conns, &key, BPF_NOEXIST);
	r[2] = bpf_sock_hash_update(s, &conns, &key, 5);
	key = 9;
	r[3] = bpf_sock_map_update(s, &slots, &key, BPF_ANY);
	key = 1;
	r[4] = bpf_sock_map_update(s, &slots, &key, BPF_EXIST);
	r[5] = set_int(s, SOL_TCP, TCP_NODELAY, 1);
	r[6] = set_int(s, SOL_SOCKET, SO_MARK, 7);
	r[7] = bpf_setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &big, sizeof(big));
	r[8] = set_int(s, SOL_SOCKET, SO_LINGER, 1);
	r[9] = set_int(s, SOL_IP, IP_TOS, 0x10);
	r[10] = set_int(s, SOL_IPV6, IPV6_TCLASS, 0x10);
	r[11] = bpf_setsockopt(s, SOL_TCP, TCP_CONGESTION, reno, sizeof(reno));
	r[12] = bpf_setsockopt(s, SOL_TCP, TCP_CONGESTION, cdg, sizeof(cdg));
	r[13] = bpf_setsockopt(s, SOL_TCP, TCP_CONGESTION, none, sizeof(none));
	r[14] = set_int(s, SOL_TCP, 1001 /* TCP_BPF_IW */, 0);
	r[15] = set_int(s, SOL_TCP, 1001, 10);
	r[16] = set_int(s, SOL_TCP, 1002 /* TCP_BPF_SNDCWND_CLAMP */, 40);
	r[17] = set_int(s, 99, 1, 1);
	r[18] = set_int(s, SOL_TCP, TCP_KEEPIDLE, -5);
	r[19] = bpf_getsockopt(s, SOL_TCP, TCP_CONGESTION, cc[op], sizeof(cc[op]));
	r[20] = bpf_getsockopt(s, SOL_TCP, TCP_NODELAY, &i[0], 4);
	r[21] = bpf_getsockopt(s, SOL_SOCKET, SO_MARK, &i[1], 4);
	r[22] = bpf_getsockopt(s, SOL_IP, IP_TOS, &i[2], 4);
	r[23] = bpf_getsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, dev[op], sizeof(dev[op]));
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
