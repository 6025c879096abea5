// A cgroup/sysctl program that looks at everything the hook offers, as sysctl
// auditors and guards do: the name (whole, cut short, base name), the current
// and new values (whole and cut short), replacing the value being written, and
// the errno a rejection returns.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define BPF_F_SYSCTL_BASE_NAME 1

struct rec {
	long name_ret, short_ret, base_ret, cur_ret, cur_short_ret, new_ret, new_short_ret;
	long set_ret, set_big_ret, retval_before, retval_set_ret, retval_after;
	__u32 write, file_pos, seen, pad;
	char name[64], short_name[8], base[32], cur[16], cur_short[2], newv[16], new_short[2];
};

struct rec recs[2];
int deny;          // 0 allow; 1 reject; 2 reject with bpf_set_retval(-E2BIG); 3 allow with an error set
char replacement[4] = "66";
char big[4096];

SEC("cgroup/sysctl")
int audit(struct bpf_sysctl *ctx)
{
	__u32 w = ctx->write ? 1 : 0;
	struct rec *r = &recs[w];

	r->seen++;
	r->write = ctx->write;
	r->file_pos = ctx->file_pos;
	r->name_ret = bpf_sysctl_get_name(ctx, r->name, sizeof(r->name), 0);
	r->short_ret = bpf_sysctl_get_name(ctx, r->short_name, sizeof(r->short_name), 0);
	r->base_ret = bpf_sysctl_get_name(ctx, r->base, sizeof(r->base), BPF_F_SYSCTL_BASE_NAME);
	r->cur_ret = bpf_sysctl_get_current_value(ctx, r->cur, sizeof(r->cur));
	r->cur_short_ret = bpf_sysctl_get_current_value(ctx, r->cur_short, sizeof(r->cur_short));
	r->new_ret = bpf_sysctl_get_new_value(ctx, r->newv, sizeof(r->newv));
	r->new_short_ret = bpf_sysctl_get_new_value(ctx, r->new_short, sizeof(r->new_short));
	r->set_big_ret = bpf_sysctl_set_new_value(ctx, big, sizeof(big));
	r->set_ret = bpf_sysctl_set_new_value(ctx, replacement, 2);
	r->retval_before = bpf_get_retval();
	if (deny == 2 || deny == 3)
		r->retval_set_ret = bpf_set_retval(-7);
	r->retval_after = bpf_get_retval();
	ctx->file_pos = 0;
	return deny == 1 || deny == 2 ? 0 : 1;
}

char LICENSE[] SEC("license") = "GPL";
