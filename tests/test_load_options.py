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


UNKNOWN_SECTION = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("my_custom_hook")
int custom(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;

	return data + 20 <= end ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int known(struct xdp_md *ctx)
{
	return XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_unknown_section_same_on_both_backends_and_type_can_be_given(bpf_compile, backend,
                                                                       caplog):
    """A program whose section names no type is left out with a warning on both
    backends (the vm used to load it as UNSPEC); program_types= gives the type."""
    obj_file = bpf_compile(UNKNOWN_SECTION, name="unknown_section")
    with caplog.at_level("WARNING", logger="ebpf"):
        with ebpf.load(obj_file, backend=backend) as obj:
            assert sorted(obj.programs) == ["known"]
    assert "custom" in caplog.text and "program_types=" in caplog.text
    with pytest.raises(ebpf.LoadError, match="program_types="):
        ebpf.load(obj_file, backend=backend, programs=["custom"])
    with ebpf.load(obj_file, backend=backend,
                   program_types={"custom": ebpf.ProgramType.XDP}) as obj:
        prog = obj.programs["custom"]
        assert prog.type == ebpf.ProgramType.XDP
        assert prog.test_run(bytes(64)).retval == 1      # XDP_DROP: ctx access works
        assert prog.test_run(bytes(14)).retval == 2
    with pytest.raises(ebpf.LoadError, match="no such program"):
        ebpf.load(obj_file, backend=backend, program_types={"nope": ebpf.ProgramType.XDP})
