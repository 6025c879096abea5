// Socket redirects as proxies and service meshes do them: an SK_SKB verdict
// program picks a socket from a sockmap by a byte of the data, an SK_MSG one
// from a sockhash by a key.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 4);
	__type(key, __u64);
	__type(value, __u64);
} by_key SEC(".maps");

__u32 flags_in;
__u64 hash_key;

SEC("sk_skb/stream_verdict")
int verdict(struct __sk_buff *skb)
{
	__u8 *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;

	if (data + 1 > end)
		return SK_DROP;
	return bpf_sk_redirect_map(skb, &socks, data[0], flags_in);
}

SEC("sk_msg")
int msg(struct sk_msg_md *m)
{
	return bpf_msg_redirect_hash(m, &by_key, &hash_key, flags_in);
}

char LICENSE[] SEC("license") = "GPL";
