"""The vm verifies at load by default; ``verify=False`` is explicit and logged."""

from __future__ import annotations

import logging

import pytest

import ebpf
from ebpf.isa import assemble
from ebpf.spec import ObjectSpec

UNSAFE = "r2 = *(u32 *)(r1 + 0)\nr0 = *(u8 *)(r2 + 4000)\nexit"   # no bounds check
SAFE = ("r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = r2\nr4 += 1\n"
        "if r4 > r3 goto +2\nr0 = *(u8 *)(r2 + 0)\nexit\nr0 = 2\nexit")


def _spec(text: str) -> ebpf.ProgramSpec:
    return ebpf.ProgramSpec(name="p", type=ebpf.ProgramType.XDP, instructions=assemble(text))


def test_program_load_verifies_by_default():
    with pytest.raises(ebpf.VerifierError) as ei:
        ebpf.Program.load(_spec(UNSAFE), backend="vm")
    assert "invalid access to packet" in ei.value.log
    assert "1: (71) r0 = *(u8 *)(r2 + 0xfa0)" in ei.value.log   # the instruction log


def test_object_load_verifies_by_default():
    spec = ObjectSpec(programs={"p": _spec(UNSAFE)})
    with pytest.raises(ebpf.VerifierError, match="invalid access to packet"):
        ebpf.load(spec, backend="vm")


def test_verify_false_loads_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="ebpf.vm"):
        with ebpf.Program.load(_spec(UNSAFE), backend="vm", verify=False) as p:
            with pytest.raises(ebpf.RuntimeFault):
                p.test_run(bytes(20))
    assert any("WITHOUT verification" in r.getMessage() for r in caplog.records)


def test_safe_program_runs():
    with ebpf.Program.load(_spec(SAFE), backend="vm") as p:
        assert p.test_run(b"\x07" + bytes(19)).retval == 7
    with ebpf.load(ObjectSpec(programs={"p": _spec(SAFE)}), backend="vm") as obj:
        assert obj.programs["p"].test_run(b"\x05" + bytes(19)).retval == 5


@pytest.mark.parametrize("cpu", ["v1", "v3"])
def test_callback_from_two_calls_keeps_the_callers_registers(bpf_compile, cpu):
    """bpf_loop's callback reached from two calls: widening at the callback's start
    only merges states of the same call (clang's v1 build of this program keeps a
    constant in r7 across both calls, then counts a loop with it)."""
    from pathlib import Path

    src = Path(__file__).resolve().parents[1] / "vm" / "progs" / "helpers.c"
    with ebpf.load(bpf_compile(src, cpu=cpu), backend="vm") as obj:
        assert "helpers" in obj.programs
