/* USDT probe reading its arguments through <bpf/usdt.bpf.h> (BPF_USDT). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "GPL";

__u64 hits = 0;
__s64 sum_reg = 0;
__s64 sum_mem = 0;
__s64 sum_const = 0;
__s64 arg_count = -1;
__s64 cookie = 0;

SEC("usdt")
int BPF_USDT(on_args, int i, long in_memory, short constant)
{
    __sync_fetch_and_add(&hits, 1);
    __sync_fetch_and_add(&sum_reg, i);
    __sync_fetch_and_add(&sum_mem, in_memory);
    __sync_fetch_and_add(&sum_const, constant);
    arg_count = bpf_usdt_arg_cnt(ctx);
    cookie = bpf_usdt_cookie(ctx);
    return 0;
}
