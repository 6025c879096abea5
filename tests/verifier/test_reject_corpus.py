"""(b) Programs the kernel rejects: ours rejects every one (≥ 99 % required),
and the kernel — the reference — is checked to reject each too."""

from __future__ import annotations

import pytest

import ebpf
from ebpf.verifier import verify_program

from .reject_corpus import CASES, cases_specs

SPECS = {name: (spec, ps, expect) for name, spec, ps, expect in cases_specs()}


def test_corpus_is_large_enough():
    assert len(CASES) >= 100
    assert len(SPECS) == len(CASES), "case names must be unique"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_ours_rejects(name):
    spec, ps, expect = SPECS[name]
    res = verify_program(ps, spec.maps)
    assert not res.accepted, f"{name} accepted; log:\n{res.log}"
    assert expect in res.error, f"{name}: {res.error!r} lacks {expect!r}"
    # the public API raises the kernel backend's error type, with the log
    with pytest.raises(ebpf.VerifierError) as ei:
        ebpf.verify(spec, name[:15])
    assert res.error.splitlines()[0] in ei.value.log


@pytest.mark.kernel
@pytest.mark.parametrize("name", sorted(SPECS))
def test_kernel_rejects_too(name):
    from ebpf.verifier.compare import kernel_verdict

    spec, ps, _ = SPECS[name]
    kv = kernel_verdict(spec, ps.name)
    assert kv.accepted is False, f"{name}: the kernel does not reject it ({kv.error or 'accepted'})"
