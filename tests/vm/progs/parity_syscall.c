// What loader programs (SEC("syscall"), as light skeletons run them) ask the
// kernel: BTF type ids by name and kind, kernel symbol addresses.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

long rets[8] = {9, 9, 9, 9, 9, 9, 9, 9};
__u64 addrs[3];

SEC("syscall")
int lookups(void *ctx)
{
	char task[] = "task_struct", nosuch[] = "no_such_type_here", sym[] = "bpf_prog_put",
	     bad[] = "xx";

	rets[0] = bpf_btf_find_by_name_kind(task, sizeof(task), BTF_KIND_STRUCT, 0);
	rets[1] = bpf_btf_find_by_name_kind(task, sizeof(task), BTF_KIND_UNION, 0);
	rets[2] = bpf_btf_find_by_name_kind(nosuch, sizeof(nosuch), BTF_KIND_STRUCT, 0);
	rets[3] = bpf_btf_find_by_name_kind(task, sizeof(task), BTF_KIND_STRUCT, 1);
	rets[4] = bpf_kallsyms_lookup_name(sym, sizeof(sym), 0, &addrs[0]);
	rets[5] = bpf_kallsyms_lookup_name(nosuch, sizeof(nosuch), 0, &addrs[1]);
	rets[6] = bpf_kallsyms_lookup_name(sym, sizeof(sym), 1, &addrs[2]);
	rets[7] = bpf_kallsyms_lookup_name(bad, 2, 0, &addrs[2]);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
