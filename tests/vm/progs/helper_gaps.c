// Helpers real tools use that once blocked whole objects on the vm:
// bpf_get_ns_current_pid_tgid (libbpf-bootstrap minimal_ns), bpf_get_socket_cookie
// (tcppktlat, socket-keyed maps), bpf_get_task_stack (task iterators, offcputime).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

const volatile __u64 ns_dev = 0;
const volatile __u64 ns_ino = 0;

int ns_ret = 0;
__u32 ns_pid = 0;
__u32 ns_tgid = 0;
int bad_ret = 0;
struct bpf_pidns_info bad_info = {1, 1};

__u64 cookie1 = 0, cookie2 = 0;

long stack_ret_bad_flags = 0, stack_ret_bad_size = 0, stack_ret_build_id_kernel = 0;
__u64 stack_buf[4] = {1, 2, 3, 4};

SEC("raw_tp/sys_enter")
int ns_info(void *ctx)
{
	struct bpf_pidns_info info = {};
	struct task_struct *task = bpf_get_current_task_btf();

	ns_ret = bpf_get_ns_current_pid_tgid(ns_dev, ns_ino, &info, sizeof(info));
	ns_pid = info.pid;
	ns_tgid = info.tgid;
	/* a namespace that is not ours: -EINVAL, buffer cleared */
	bad_ret = bpf_get_ns_current_pid_tgid(ns_dev, ns_ino + 1, &bad_info, sizeof(bad_info));

	stack_ret_bad_flags = bpf_get_task_stack(task, stack_buf, sizeof(stack_buf), 1 << 12);
	stack_ret_bad_size = bpf_get_task_stack(task, stack_buf, 12, 0);
	stack_ret_build_id_kernel = bpf_get_task_stack(task, stack_buf, sizeof(stack_buf),
						       BPF_F_USER_BUILD_ID);
	return 0;
}

SEC("tc")
int cookies(struct __sk_buff *skb)
{
	cookie1 = bpf_get_socket_cookie(skb);
	cookie2 = bpf_get_socket_cookie(skb);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
