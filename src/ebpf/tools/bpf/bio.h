/* SPDX-License-Identifier: GPL-2.0 */
/* Block I/O requests shared by biolatency, biosnoop and biotop: when a request
 * was inserted/issued and by whom, keyed by the request's address. The programs
 * come twice: tp_btf (the classic hook) and raw_tp (the fallback); both read the
 * request with CO-RE. */
#ifndef EBPF_TOOLS_BIO_H
#define EBPF_TOOLS_BIO_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

struct rq_start {
	__u64 insert_ns;
	__u64 issue_ns;
	__u32 pid;
	__u32 pad;
	char comm[TASK_COMM_LEN];
};

/* only this disk (dev_t as the kernel encodes it: major << 20 | minor) when set */
const volatile __u32 target_dev = 0;

HASH(rq_starts, __u64, struct rq_start, 10240);

static __always_inline __u32 rq_dev(struct request *rq)
{
	struct gendisk *disk = BPF_CORE_READ(rq, q, disk);

	if (!disk)
		return 0;
	return (BPF_CORE_READ(disk, major) << 20) | BPF_CORE_READ(disk, first_minor);
}

static __always_inline int rq_seen(struct request *rq, bool issue)
{
	__u64 key = (__u64)rq, now = bpf_ktime_get_ns();
	struct rq_start *s, init = {};

	if (target_dev && rq_dev(rq) != target_dev)
		return 0;
	s = bpf_map_lookup_elem(&rq_starts, &key);
	if (!s) {
		init.pid = bpf_get_current_pid_tgid() >> 32;
		bpf_get_current_comm(init.comm, sizeof(init.comm));
		bpf_map_update_elem(&rq_starts, &key, &init, BPF_ANY);
		s = bpf_map_lookup_elem(&rq_starts, &key);
		if (!s)
			return 0;
	}
	if (issue)
		s->issue_ns = now;
	else
		s->insert_ns = now;
	return 0;
}

/* the request's record, removed from the map into *out; 0 when found */
static __always_inline int rq_done(struct request *rq, struct rq_start *out)
{
	__u64 key = (__u64)rq;
	struct rq_start *s = bpf_map_lookup_elem(&rq_starts, &key);

	if (!s)
		return -1;
	*out = *s;
	bpf_map_delete_elem(&rq_starts, &key);
	return s->issue_ns ? 0 : -1;
}

static __always_inline int on_complete(struct request *rq, __u64 now);

#define BIO_PROGRAMS(prefix, sec)						\
SEC(sec "/block_rq_insert")							\
int BPF_PROG(prefix##_insert, struct request *rq) { return rq_seen(rq, false); }	\
SEC(sec "/block_rq_issue")							\
int BPF_PROG(prefix##_issue, struct request *rq) { return rq_seen(rq, true); }	\
SEC(sec "/block_rq_complete")							\
int BPF_PROG(prefix##_complete, struct request *rq)				\
{ return on_complete(rq, bpf_ktime_get_ns()); }

BIO_PROGRAMS(btf, "tp_btf")
BIO_PROGRAMS(raw, "raw_tp")

#endif
