// Old-style maps in a "maps" section (struct bpf_map_def) and a kernel version.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct legacy_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct legacy_map_def SEC("maps") packets = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 256,
};

struct legacy_map_def SEC("maps") flows = {
	.type = BPF_MAP_TYPE_LRU_HASH,
	.key_size = 8,
	.value_size = 16,
	.max_entries = 1024,
	.map_flags = 2,
};

char _license[] SEC("license") = "GPL";
unsigned int _version SEC("version") = 0x060c00;

SEC("socket1")
int bpf_prog1(struct __sk_buff *skb)
{
	__u32 index = skb->protocol & 0xff;
	__u64 *value = bpf_map_lookup_elem(&packets, &index);
	if (value)
		__sync_fetch_and_add(value, skb->len);
	return 0;
}

SEC("kprobe/tcp_v4_connect")
int trace_connect(void *ctx)
{
	__u64 key = bpf_get_current_pid_tgid();
	__u64 zero[2] = {};
	bpf_map_update_elem(&flows, &key, zero, BPF_ANY);
	return 0;
}
