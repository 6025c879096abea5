// .kconfig and .ksyms externs, a kfunc call, a weak kconfig.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern _Bool CONFIG_BPF_SYSCALL __kconfig __weak;
extern int CONFIG_HZ __kconfig;

extern const void bpf_link_fops __ksym;
extern const void some_missing_symbol __ksym __weak;
extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;

__u64 out[4];

SEC("tp_btf/sched_switch")
int handle(void *ctx)
{
	bpf_rcu_read_lock();
	out[0] = LINUX_KERNEL_VERSION;
	out[1] = CONFIG_BPF_SYSCALL;
	out[2] = (__u64)&bpf_link_fops;
	out[3] = CONFIG_HZ + (&some_missing_symbol ? 1 : 0);
	bpf_rcu_read_unlock();
	return 0;
}
