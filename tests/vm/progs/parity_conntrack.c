// Connection tracking from XDP, as load balancers and NAT programs use it: the
// conntrack kfuncs' argument checks (opts->error), a lookup that misses, and an
// entry allocated, set up, inserted, found from both directions, changed and
// released; the same object on the kernel and on the vm.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *, struct bpf_sock_tuple *, __u32,
					 struct bpf_ct_opts *, __u32) __ksym;
extern struct nf_conn___init *bpf_xdp_ct_alloc(struct xdp_md *, struct bpf_sock_tuple *, __u32,
					       struct bpf_ct_opts *, __u32) __ksym;
extern struct nf_conn *bpf_ct_insert_entry(struct nf_conn___init *) __ksym;
extern void bpf_ct_release(struct nf_conn *) __ksym;
extern void bpf_ct_set_timeout(struct nf_conn___init *, __u32) __ksym;
extern int bpf_ct_change_timeout(struct nf_conn *, __u32) __ksym;
extern int bpf_ct_set_status(const struct nf_conn___init *, __u32) __ksym;
extern int bpf_ct_change_status(struct nf_conn *, __u32) __ksym;

#define SEEN_REPLY 2
#define ASSURED 4
#define CONFIRMED 8
#define SRC_NAT 16
#define DST_NAT 32

__u16 sport = 40000;	/* set by the test: a tuple of its own */
int errs[12];
long rets[12];
long status[4];
__u32 marks[2];
__u32 ticks[2];
__u8 dirs[3];
__u8 zone_dir;

static __always_inline void tuple4(struct bpf_sock_tuple *t, __u32 s, __u16 sp, __u32 d, __u16 dp)
{
	__builtin_memset(t, 0, sizeof(*t));
	t->ipv4.saddr = bpf_htonl(s);
	t->ipv4.sport = bpf_htons(sp);
	t->ipv4.daddr = bpf_htonl(d);
	t->ipv4.dport = bpf_htons(dp);
}

static __always_inline void opts_init(struct bpf_ct_opts *o, __u8 proto)
{
	__builtin_memset(o, 0, sizeof(*o));
	o->netns_id = -1;
	o->l4proto = proto;
}

/* a lookup expected to fail: opts->error */
static __always_inline int miss(struct xdp_md *ctx, struct bpf_sock_tuple *t, __u32 tsz,
				struct bpf_ct_opts *o, __u32 osz)
{
	struct nf_conn *ct = bpf_xdp_ct_lookup(ctx, t, tsz, o, osz);

	if (ct) {
		bpf_ct_release(ct);
		return 1000;
	}
	return o->error;
}

SEC("xdp")
int conntrack(struct xdp_md *ctx)
{
	struct bpf_sock_tuple t, r;
	struct bpf_ct_opts o;
	struct nf_conn___init *ci;
	struct nf_conn *ct;
	__u32 a = 0x0a010001, b = 0x0a010002;

	tuple4(&t, a, sport, b, 80);
	tuple4(&r, b, 80, a, sport);

	opts_init(&o, IPPROTO_TCP);
	errs[0] = miss(ctx, &t, sizeof(t.ipv4), &o, 8);
	opts_init(&o, IPPROTO_TCP);
	o.reserved[0] = 1;
	errs[1] = miss(ctx, &t, sizeof(t.ipv4), &o, sizeof(o));
	opts_init(&o, IPPROTO_TCP);
	o.ct_zone_id = 5;
	errs[2] = miss(ctx, &t, sizeof(t.ipv4), &o, 12);
	opts_init(&o, IPPROTO_ICMP);
	errs[3] = miss(ctx, &t, sizeof(t.ipv4), &o, sizeof(o));
	opts_init(&o, IPPROTO_TCP);
	o.netns_id = -2;
	errs[4] = miss(ctx, &t, sizeof(t.ipv4), &o, sizeof(o));
	opts_init(&o, IPPROTO_ICMP);
	o.netns_id = -2;
	errs[5] = miss(ctx, &t, sizeof(t.ipv4), &o, sizeof(o));
	opts_init(&o, IPPROTO_ICMP);
	o.netns_id = -2;
	ci = bpf_xdp_ct_alloc(ctx, &t, sizeof(t.ipv4), &o, sizeof(o));
	if (ci) {	/* an allocation is never released: inserted (or freed by the insert) */
		ct = bpf_ct_insert_entry(ci);
		if (ct)
			bpf_ct_release(ct);
		errs[6] = 1000;
	} else {
		errs[6] = o.error;
	}
	opts_init(&o, IPPROTO_TCP);
	errs[7] = miss(ctx, &t, 20, &o, sizeof(o));
	opts_init(&o, IPPROTO_TCP);
	o.netns_id = 7;
	errs[8] = miss(ctx, &t, sizeof(t.ipv4), &o, sizeof(o));
	opts_init(&o, IPPROTO_UDP);
	errs[9] = miss(ctx, &t, sizeof(t.ipv4), &o, sizeof(o));
	zone_dir = o.ct_zone_dir;

	/* an entry of our own: allocate, set up, insert */
	opts_init(&o, IPPROTO_TCP);
	ci = bpf_xdp_ct_alloc(ctx, &t, sizeof(t.ipv4), &o, sizeof(o));
	if (!ci) {
		rets[0] = -1000 + o.error;
		return XDP_PASS;
	}
	status[0] = ((struct nf_conn *)ci)->status;
	rets[1] = bpf_ct_set_status(ci, SEEN_REPLY | SRC_NAT);
	bpf_ct_set_timeout(ci, 5000);
	ci->ct.mark = 77;
	ct = bpf_ct_insert_entry(ci);
	if (!ct) {
		rets[0] = -2000;
		return XDP_PASS;
	}
	status[1] = ct->status;
	ticks[0] = ct->timeout - (__u32)bpf_jiffies64();
	bpf_ct_release(ct);

	/* found again from the reply direction */
	opts_init(&o, IPPROTO_TCP);
	ct = bpf_xdp_ct_lookup(ctx, &r, sizeof(r.ipv4), &o, sizeof(o));
	if (!ct) {
		rets[0] = -3000 + o.error;
		return XDP_PASS;
	}
	dirs[0] = o.dir;
	marks[0] = ct->mark;
	ct->mark = 78;
	rets[2] = bpf_ct_change_status(ct, CONFIRMED);
	rets[3] = bpf_ct_change_status(ct, ASSURED | CONFIRMED);
	rets[6] = bpf_ct_change_status(ct, SEEN_REPLY | ASSURED);
	rets[7] = bpf_ct_change_status(ct, SEEN_REPLY | ASSURED | CONFIRMED | DST_NAT);
	status[2] = ct->status;
	rets[4] = bpf_ct_change_timeout(ct, 2000);
	ticks[1] = ct->timeout - (__u32)bpf_jiffies64();
	bpf_ct_release(ct);

	/* and from the original one */
	opts_init(&o, IPPROTO_TCP);
	o.dir = 9;
	ct = bpf_xdp_ct_lookup(ctx, &t, sizeof(t.ipv4), &o, 12);
	if (ct) {
		dirs[1] = o.dir;
		marks[1] = ct->mark;
		status[3] = ct->status;
		bpf_ct_release(ct);
	}

	/* the tuple is taken: a second insert fails */
	opts_init(&o, IPPROTO_TCP);
	ci = bpf_xdp_ct_alloc(ctx, &r, sizeof(r.ipv4), &o, sizeof(o));
	if (ci) {
		ct = bpf_ct_insert_entry(ci);
		rets[5] = ct ? 1 : 0;
		if (ct)
			bpf_ct_release(ct);
	}
	/* another zone has no such entry */
	opts_init(&o, IPPROTO_TCP);
	o.ct_zone_id = 9;
	errs[10] = miss(ctx, &t, sizeof(t.ipv4), &o, sizeof(o));
	/* a zone that applies to the reply direction only: the default zone's entry */
	opts_init(&o, IPPROTO_TCP);
	o.ct_zone_id = 9;
	o.ct_zone_dir = 2;
	ct = bpf_xdp_ct_lookup(ctx, &t, sizeof(t.ipv4), &o, sizeof(o));
	if (ct) {
		dirs[2] = 1 + o.dir;
		bpf_ct_release(ct);
	}
	rets[0] = 1;
	return XDP_PASS;
}

/* cilium/ebpf's testdata/kfunc.c: sizes of 0 pass the verifier */
SEC("tc")
int zero_sizes(struct __sk_buff *ctx)
{
	char buf[1];
	extern struct nf_conn *bpf_skb_ct_lookup(struct __sk_buff *, struct bpf_sock_tuple *, __u32,
						 struct bpf_ct_opts *, __u32) __ksym;
	struct nf_conn *conn = bpf_skb_ct_lookup(ctx, (void *)buf, 0, (void *)buf, 0);

	if (conn)
		bpf_ct_release(conn);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
