// A struct_ops map (as sched_ext or TCP congestion control objects define them).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct demo_ops {
	int (*init)(void);
	void (*exit)(int code);
	unsigned int flags;
	char name[16];
};

SEC("struct_ops/demo_init")
int demo_init(unsigned long long *ctx)
{
	return 0;
}

SEC("struct_ops.s/demo_exit")
int demo_exit(unsigned long long *ctx)
{
	return 0;
}

SEC(".struct_ops.link")
struct demo_ops demo = {
	.init = (void *)demo_init,
	.exit = (void *)demo_exit,
	.flags = 3,
	.name = "demo",
};
