"""CO-RE relocations applied against the running kernel's BTF at load."""

from __future__ import annotations

from pathlib import Path

import pytest

import ebpf
from ebpf import btf
from ebpf.kernel.objects import load_object

pytestmark = pytest.mark.kernel
PROGS = Path(__file__).parent / "progs"


@pytest.fixture(scope="module")
def spec(bpf_compile):
    return ebpf.ObjectSpec.from_file(bpf_compile(PROGS / "core.bpf.c"))


def kernel_offset(struct: str, field: str) -> int:
    t = btf.load_kernel_btf().type_by_name(struct, kind="struct")
    return next(m.offset // 8 for m in t.members if m.name == field)


def test_relocations_give_kernel_values(spec, no_leaks):
    with load_object(spec, programs=["core_values"]) as obj:
        prog = obj.programs["core_values"]
        which = obj.variables["which"]
        results = []
        for i in range(5):
            which.value = i
            results.append(prog.test_run(b"\0" * 64).retval)
    assert results[0] == kernel_offset("task_struct", "pid") != 0
    assert results[1] == 4
    assert results[2] == 1  # pid exists, no_such_field___ does not
    assert results[3] == 1  # the made-up type does not exist, task_struct does
    assert results[4] == 27  # BPF_MAP_TYPE_RINGBUF in the kernel's enum


def test_reachable_failed_relocation_is_explained(spec, no_leaks):
    with pytest.raises(ebpf.VerifierError) as ei:
        load_object(spec, programs=["core_missing"])
    msg = str(ei.value)
    assert "CO-RE" in msg and "no_such_field___" in msg
    assert "invalid func" in ei.value.log or "unknown#195896080" in ei.value.log


def _relocated(spec, name):
    from ebpf.loader.core import relocate_core_kernel

    insns = [i.copy() for i in spec.programs[name].instructions]
    poisoned = relocate_core_kernel(spec.programs[name], insns)
    return ([(i.opcode, i.dst, i.src, i.off, i.imm) for i in insns],
            [(r.index, r.reason, r.description) for r in poisoned])


def _fresh(spec, name):
    from ebpf.loader.core import relocate_core

    insns = [i.copy() for i in spec.programs[name].instructions]
    poisoned, _ = relocate_core(spec.programs[name], insns, own_fallback=False)
    return ([(i.opcode, i.dst, i.src, i.off, i.imm) for i in insns],
            [(r.index, r.reason, r.description) for r in poisoned])


def test_outcomes_are_kept_per_kernel_and_replayed_without_kernel_btf(spec, tmp_path,
                                                                     monkeypatch):
    from ebpf.btf import cache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    names = ["core_values", "core_missing"]  # the second has a poisoned relocation
    first = {n: _relocated(spec, n) for n in names}
    assert first == {n: _fresh(spec, n) for n in names}
    assert first["core_missing"][1], "core_missing should have a poisoned relocation"
    kept = sorted((tmp_path / "ebpf" / "btf" / "facts").glob("core-*.json"))
    assert len(kept) == 2

    def no_kernel_btf(*a, **k):
        raise AssertionError("kernel BTF read for a kept outcome")

    pid_offset = kernel_offset("task_struct", "pid")
    monkeypatch.setattr(btf, "load_kernel_specs", no_kernel_btf)
    assert {n: _relocated(spec, n) for n in names} == first
    # the whole load too: the program reads the kernel's values
    with load_object(spec, programs=["core_values"]) as obj:
        obj.variables["which"].value = 0
        assert obj.programs["core_values"].test_run(b"\0" * 64).retval == pid_offset
    monkeypatch.undo()

    # a damaged entry is worked out again (and mended); another kernel asks afresh
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    for f in kept:
        f.write_text('{"value": [[1, 2]]}')
    assert {n: _relocated(spec, n) for n in names} == first
    assert all("[[1, 2]]" not in f.read_text() for f in kept)
    calls = []
    real = btf.load_kernel_specs
    monkeypatch.setattr(btf, "load_kernel_specs", lambda *a, **k: calls.append(1) or real())
    monkeypatch.setattr(cache, "kernel_identity", lambda: "another kernel")
    assert {n: _relocated(spec, n) for n in names} == first
    assert calls
