// bpf_snprintf_btf as tracing tools dump objects (retsnoop, bpftrace's print()):
// kernel types from the running kernel's BTF, each flag, truncation and errors.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define N 12
char out[N][400];
long rets[N + 3];

struct iphdr ip = {.ihl = 5, .version = 4, .ttl = 64, .protocol = 6, .saddr = 0x0100007f};
struct ethhdr eth = {.h_dest = {1, 2, 'a', 'b', 5, 6}, .h_proto = 8};
struct bpf_map_info info = {.type = 2, .id = 7, .name = "counts", .max_entries = 1024,
			    .map_flags = 0x400, .btf_id = 3};
struct timespec64 ts = {.tv_sec = -5, .tv_nsec = 999};
struct btf_ptr bp = {.ptr = (void *)0xffff888812345678ull, .type_id = 9};
enum bpf_map_type mtype = BPF_MAP_TYPE_RINGBUF;
struct bpf_tunnel_key zeros;

static long one(int i, void *obj, __u32 type_id, __u64 flags)
{
	struct btf_ptr p = {.ptr = obj, .type_id = type_id};

	if (i < 0 || i >= N)
		return 0;
	return rets[i] = bpf_snprintf_btf(out[i], sizeof(out[0]), &p, sizeof(p), flags);
}

SEC("tc")
int show(struct __sk_buff *skb)
{
	struct btf_ptr p = {.ptr = &ip, .type_id = bpf_core_type_id_kernel(struct iphdr)};

	one(0, &ip, bpf_core_type_id_kernel(struct iphdr), 0);
	one(1, &ip, bpf_core_type_id_kernel(struct iphdr), BTF_F_COMPACT | BTF_F_NONAME);
	one(2, &ip, bpf_core_type_id_kernel(struct iphdr), BTF_F_ZERO);
	one(3, &eth, bpf_core_type_id_kernel(struct ethhdr), 0);
	one(4, &info, bpf_core_type_id_kernel(struct bpf_map_info), BTF_F_COMPACT);
	one(5, &ts, bpf_core_type_id_kernel(struct timespec64), 0);
	one(6, &bp, bpf_core_type_id_kernel(struct btf_ptr), BTF_F_PTR_RAW);
	one(7, &mtype, bpf_core_type_id_kernel(enum bpf_map_type), 0);
	one(8, &zeros, bpf_core_type_id_kernel(struct bpf_tunnel_key), 0);
	one(9, &zeros, bpf_core_type_id_kernel(struct bpf_tunnel_key), BTF_F_ZERO | BTF_F_COMPACT);
	one(10, &info, bpf_core_type_id_kernel(struct bpf_map_info), BTF_F_NONAME);
	/* truncated; errors: flags, btf_ptr size, type id 0, a type id past the BTF */
	rets[11] = bpf_snprintf_btf(out[11], 10, &p, sizeof(p), 0);
	rets[12] = bpf_snprintf_btf(out[11], 10, &p, sizeof(p), 1 << 4);
	rets[13] = bpf_snprintf_btf(out[11], 10, &p, 12, 0);
	p.type_id = 0;
	rets[14] = bpf_snprintf_btf(out[11], 10, &p, sizeof(p), 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
