"""`__weak __hidden` global functions (libbpf's usdt.bpf.h pattern) load as static
subprograms, as libbpf makes them: their BTF linkage becomes static (issue #10 §3)."""

from __future__ import annotations

import pytest

import ebpf
from ebpf import btf as B

HIDDEN = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* no NULL check: fine for a static subprogram (the caller passes &v), refused
   for a global function, which the verifier checks alone with p maybe NULL */
__weak __hidden int add_to(long *p)
{
	*p += 1;
	return 1;
}

int visible(long *p)
{
	return p ? 2 : 0;
}

SEC("socket")
int use_hidden(struct __sk_buff *skb)
{
	long v = 41;

	add_to(&v);
	return v + visible(&v) - 2;
}
char LICENSE[] SEC("license") = "GPL";
"""


def _funcs(spec: ebpf.ObjectSpec) -> dict[str, B.Linkage]:
    return {t.name: t.linkage for t in spec.btf if isinstance(t, B.Func)}


@pytest.mark.parametrize("backend", ["vm", pytest.param("kernel", marks=pytest.mark.kernel)])
def test_hidden_global_function_loads_as_static(bpf_compile, backend):
    spec = ebpf.ObjectSpec.from_file(bpf_compile(HIDDEN, name="hidden_func"))
    linkage = _funcs(spec)
    assert linkage["add_to"] == B.Linkage.STATIC        # hidden: made static
    assert linkage["visible"] == B.Linkage.GLOBAL       # default visibility: stays global
    with ebpf.load(spec, backend=backend) as obj:
        assert obj.programs["use_hidden"].test_run(bytes(64)).retval == 42
