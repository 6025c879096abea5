/* A BTF-enabled raw tracepoint (tp_btf): typed arguments, attached through a
 * tracing bpf_link like fentry/fexit. Counts one process's getppid() calls. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 target_tgid = 0;
const volatile long syscall_nr = 110; /* __NR_getppid on x86_64 */

__u64 hits = 0;

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
    if ((bpf_get_current_pid_tgid() >> 32) == target_tgid && id == syscall_nr)
        __sync_fetch_and_add(&hits, 1);
    return 0;
}
