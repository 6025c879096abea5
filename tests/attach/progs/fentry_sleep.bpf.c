/* fentry/fexit on a kernel function, and an LSM hook, for one process. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 target_tgid = 0;

__u64 entries = 0;
__u64 exits = 0;
__u64 opens = 0;
__s64 last_ret = -1;

static __always_inline bool mine(void)
{
    return (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

SEC("fentry/do_nanosleep")
int BPF_PROG(sleep_entry, struct hrtimer_sleeper *t, enum hrtimer_mode mode)
{
    if (mine())
        __sync_fetch_and_add(&entries, 1);
    return 0;
}

SEC("fexit/do_nanosleep")
int BPF_PROG(sleep_exit, struct hrtimer_sleeper *t, enum hrtimer_mode mode, int ret)
{
    if (mine()) {
        __sync_fetch_and_add(&exits, 1);
        last_ret = ret;
    }
    return 0;
}

SEC("lsm/file_open")
int BPF_PROG(on_file_open, struct file *file)
{
    if (mine())
        __sync_fetch_and_add(&opens, 1);
    return 0; /* allow */
}
