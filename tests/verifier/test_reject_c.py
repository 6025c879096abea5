"""Rejections that need C and BTF (spin locks live in BTF-described map values),
and references from socket lookups: each rejected by ours with the kernel's
wording, and by the kernel."""

from __future__ import annotations

import pytest

from ebpf.spec import ObjectSpec
from ebpf.verifier import verify_program

SRC = r"""
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct val { struct bpf_spin_lock lock; __u64 n; };
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct val);
} locked SEC(".maps");

static __always_inline struct val *get(void)
{
	__u32 k = 0;
	return bpf_map_lookup_elem(&locked, &k);
}

SEC("tc") int lock_held_at_exit(struct __sk_buff *skb)
{
	struct val *v = get();
	if (!v) return 0;
	bpf_spin_lock(&v->lock);
	v->n++;
	return 0;
}

SEC("tc") int lock_nested(struct __sk_buff *skb)
{
	struct val *v = get();
	if (!v) return 0;
	bpf_spin_lock(&v->lock);
	bpf_spin_lock(&v->lock);
	bpf_spin_unlock(&v->lock);
	bpf_spin_unlock(&v->lock);
	return 0;
}

SEC("tc") int lock_call_inside(struct __sk_buff *skb)
{
	struct val *v = get();
	if (!v) return 0;
	bpf_spin_lock(&v->lock);
	v->n = bpf_ktime_get_ns();
	bpf_spin_unlock(&v->lock);
	return 0;
}

SEC("tc") int unlock_unlocked(struct __sk_buff *skb)
{
	struct val *v = get();
	if (!v) return 0;
	bpf_spin_unlock(&v->lock);
	return 0;
}

SEC("tc") int lock_direct_access(struct __sk_buff *skb)
{
	struct val *v = get();
	if (!v) return 0;
	return *(volatile __u32 *)&v->lock;
}

SEC("tc") int lock_ok(struct __sk_buff *skb)
{
	struct val *v = get();
	if (!v) return 0;
	bpf_spin_lock(&v->lock);
	v->n++;
	bpf_spin_unlock(&v->lock);
	return 0;
}

SEC("tc") int sk_leak(struct __sk_buff *skb)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk = bpf_sk_lookup_tcp(skb, &t, sizeof(t.ipv4), -1, 0);
	if (sk)
		return 1;
	return 0;
}

SEC("tc") int sk_ok(struct __sk_buff *skb)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk = bpf_sk_lookup_tcp(skb, &t, sizeof(t.ipv4), -1, 0);
	if (sk)
		bpf_sk_release(sk);
	return 0;
}

SEC("tc") int sk_no_null_check(struct __sk_buff *skb)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk = bpf_sk_lookup_tcp(skb, &t, sizeof(t.ipv4), -1, 0);
	int family = sk->family;
	if (sk)
		bpf_sk_release(sk);
	return family;
}

struct loop_ctx { __u32 i; __u8 buf[8]; };

/* every bpf_loop iteration moves the index: the second one already writes past buf */
static long step_unchecked(__u32 idx, struct loop_ctx *c) { c->buf[c->i] = 1; c->i++; return 0; }
static long step_checked(__u32 idx, struct loop_ctx *c)
{
	if (c->i < 8)
		c->buf[c->i] = 1;
	c->i++;
	return 0;
}

SEC("tc") int loop_index_grows(struct __sk_buff *skb)
{
	struct loop_ctx c = {};
	bpf_loop(16, step_unchecked, &c, 0);
	return c.buf[0];
}

SEC("tc") int loop_index_checked(struct __sk_buff *skb)
{
	struct loop_ctx c = {};
	bpf_loop(16, step_checked, &c, 0);
	return c.buf[0];
}

char LICENSE[] SEC("license") = "GPL";
"""

REJECT = {
    "lock_held_at_exit": "bpf_spin_lock-ed region",
    "lock_nested": "Locking two bpf_spin_locks are not allowed",
    "lock_call_inside": "function calls are not allowed while holding a lock",
    "unlock_unlocked": "bpf_spin_unlock without taking a lock",
    "lock_direct_access": "bpf_spin_lock cannot be accessed directly by load/store",
    "sk_leak": "Unreleased reference",
    "sk_no_null_check": "invalid mem access 'sock_or_null'",
    "loop_index_grows": "variable-offset write to stack",
}
ACCEPT = ["lock_ok", "sk_ok", "loop_index_checked"]


@pytest.fixture(scope="module")
def spec(bpf_compile):
    return ObjectSpec.from_file(bpf_compile(SRC, name="verifier_locks"))


@pytest.mark.parametrize("name", sorted(REJECT))
def test_ours_rejects(spec, name):
    res = verify_program(spec.programs[name], spec.maps)
    assert not res.accepted
    assert REJECT[name] in res.error, res.error


@pytest.mark.parametrize("name", ACCEPT)
def test_ours_accepts_the_correct_versions(spec, name):
    res = verify_program(spec.programs[name], spec.maps)
    assert res.accepted, res.log


@pytest.mark.kernel
@pytest.mark.parametrize("name", sorted(REJECT) + ACCEPT)
def test_kernel_agrees(spec, name):
    from ebpf.verifier.compare import kernel_verdict

    kv = kernel_verdict(spec, name)
    assert kv.accepted is (name in ACCEPT), kv.error
