// SPDX-License-Identifier: GPL-2.0
/* biolatency: block I/O latency as log2 histograms (per disk / per flags). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"
#include "bio.h"

struct hist_key {
	__u32 dev;
	__u32 flags;
};

const volatile bool per_disk = 0;
const volatile bool per_flags = 0;
const volatile bool queued = 0;		/* from insert, not issue */
const volatile bool millis = 0;

HASH(hists, struct hist_key, struct hist, 1024);

static __always_inline int on_complete(struct request *rq, __u64 now)
{
	struct rq_start s;
	struct hist_key k = {};
	__u64 from, delta;

	if (rq_done(rq, &s))
		return 0;
	from = queued && s.insert_ns ? s.insert_ns : s.issue_ns;
	delta = (now - from) / (millis ? 1000000 : 1000);
	if (per_disk)
		k.dev = rq_dev(rq);
	if (per_flags)
		k.flags = BPF_CORE_READ(rq, cmd_flags);
	hist_add(&hists, &k, delta);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
