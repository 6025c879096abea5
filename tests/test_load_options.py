"""Load options that let objects written for other loaders load (issue #10 §3):
``pinning=`` for pinning values libbpf does not know (cilium/ebpf's)."""

from __future__ import annotations

import pytest

import ebpf

BACKENDS = ["vm", pytest.param("kernel", marks=pytest.mark.kernel)]

CILIUM_PINNING = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, 16);		/* a value cilium/ebpf objects use */
} own_pinned SEC(".maps");

SEC("socket")
int count(struct __sk_buff *skb)
{
	__u32 k = 1;
	__u64 one = 1;

	bpf_map_update_elem(&own_pinned, &k, &one, BPF_ANY);
	return 0;
}
char LICENSE[] SEC("license") = "GPL";
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_unknown_pinning_parses_refuses_at_load_and_can_be_overridden(bpf_compile, backend):
    obj_file = bpf_compile(CILIUM_PINNING, name="cilium_pinning")
    spec = ebpf.ObjectSpec.from_file(obj_file)            # parsing no longer refuses it
    assert spec.maps["own_pinned"].pinning == 16
    with pytest.raises(ebpf.LoadError, match=r"own_pinned: pinning value 16 .*pinning="):
        ebpf.load(spec, backend=backend)
    with ebpf.load(spec, backend=backend, pinning={"own_pinned": ebpf.PinType.NONE}) as obj:
        obj.programs["count"].test_run(bytes(64))
        assert obj.maps["own_pinned"][1] == 1
    assert spec.maps["own_pinned"].pinning == 16           # the caller's spec is untouched
    with pytest.raises(ebpf.LoadError, match="no such map"):
        ebpf.load(spec, backend=backend, pinning={"nope": 0})


@pytest.mark.parametrize("backend", BACKENDS)
def test_program_and_map_keep_their_object_alive(bpf_compile, backend):
    """`ebpf.load(...).programs["p"].test_run(...)` in one expression: the
    temporary Object must not be closed under the program (or map)."""
    import gc

    obj_file = bpf_compile(CILIUM_PINNING, name="cilium_pinning")
    pin = {"own_pinned": ebpf.PinType.NONE}
    r = ebpf.load(obj_file, backend=backend, pinning=pin).programs["count"].test_run(bytes(64))
    assert r.retval == 0
    m = ebpf.load(obj_file, backend=backend, pinning=pin).maps["own_pinned"]
    gc.collect()
    m[2] = 5
    assert m[2] == 5
