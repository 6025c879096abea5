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
