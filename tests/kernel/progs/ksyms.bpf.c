// Typeless __ksym externs resolve to kernel addresses (from /proc/kallsyms);
// a weak one that does not exist reads as 0.
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

extern const void bpf_prog_put __ksym;
extern const void no_such_symbol_anywhere __ksym __weak;

__u64 addr_put, addr_missing;

SEC("socket")
int read_ksyms(void *ctx)
{
	addr_put = (__u64)&bpf_prog_put;
	addr_missing = (__u64)&no_such_symbol_anywhere;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
