"""Interpreter (the reference) and translator agree: random programs, and
the semantic corner cases the ISA spells out."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ebpf
from ebpf.isa import Instruction
from ebpf.isa import opcodes as op
from ebpf.vm.native import available as native_available
from ebpf.vm.programs import load_program

from .randprog import programs


def _how(jit):
    """``jit`` is an executor name or the old boolean alias."""
    return {"executor": jit} if isinstance(jit, str) else {"jit": jit}


#: every executor the corner-case tests run on
EXECUTORS = ["native", "translator", "interpreter"] if native_available() else \
    ["translator", "interpreter"]


def xdp(insns, jit):
    return load_program(ebpf.ProgramSpec(name="t", type=ebpf.ProgramType.XDP,
                                         instructions=insns), **_how(jit))


def outcome(prog, frame):
    try:
        r = prog.test_run(frame)
        return r.retval, r.data
    except ebpf.RuntimeFault as e:
        return "fault", e.reason


@settings(max_examples=300, deadline=None)
@given(insns=programs(), frame=st.binary(min_size=64, max_size=80))
def test_translator_matches_interpreter(insns, frame):
    assert outcome(xdp(insns, "translator"), frame) == outcome(xdp(insns, "interpreter"), frame)


def mov(dst, imm, cls=op.BPF_ALU64):
    return Instruction(cls | op.BPF_MOV, dst=dst, imm=imm)


def run(insns, jit):
    return load_program(ebpf.ProgramSpec(name="t", type=ebpf.ProgramType.RAW_TRACEPOINT,
                                         instructions=insns), **_how(jit)).run()


@pytest.mark.parametrize("jit", EXECUTORS)
def test_division_by_zero_follows_the_isa(jit):
    # r0 = 7 / r1(0) -> 0 ; r2 = 9 % r1 -> 9 ; r0 += r2 -> 9
    prog = [mov(0, 7), mov(1, 0), mov(2, 9),
            Instruction(op.BPF_ALU64 | op.BPF_DIV | op.BPF_X, dst=0, src=1),
            Instruction(op.BPF_ALU64 | op.BPF_MOD | op.BPF_X, dst=2, src=1),
            Instruction(op.BPF_ALU64 | op.BPF_ADD | op.BPF_X, dst=0, src=2),
            Instruction(op.EXIT)]
    assert run(prog, jit) == 9


@pytest.mark.parametrize("jit", EXECUTORS)
def test_runaway_loop_hits_the_budget(jit):
    prog = [mov(0, 0), Instruction(op.JA, off=-1), Instruction(op.EXIT)]
    p = load_program(ebpf.ProgramSpec(name="spin", type=ebpf.ProgramType.XDP,
                                      instructions=prog), **_how(jit), budget=10_000)
    with pytest.raises(ebpf.RuntimeFault, match="budget"):
        p.test_run(bytes(64))


@pytest.mark.parametrize("jit", EXECUTORS)
def test_out_of_bounds_is_a_clear_fault(jit):
    # r0 = *(u64 *)(r10 + 8): past the top of the stack
    prog = [Instruction(op.BPF_LDX | op.BPF_MEM | op.BPF_DW, dst=0, src=10, off=8),
            Instruction(op.EXIT)]
    with pytest.raises(ebpf.RuntimeFault, match=r"at instruction 0: invalid memory read of 8 "
                                                r"bytes .*past the end of stack"):
        run(prog, jit)


@pytest.mark.parametrize("jit", EXECUTORS)
def test_null_dereference(jit):
    prog = [mov(1, 0), Instruction(op.BPF_ST | op.BPF_MEM | op.BPF_W, dst=1, off=0, imm=1),
            Instruction(op.EXIT)]
    with pytest.raises(ebpf.RuntimeFault, match="null pointer"):
        run(prog, jit)


@pytest.mark.parametrize("jit", EXECUTORS)
def test_bpf_to_bpf_calls_have_frames(jit):
    # main: *(fp-8) = 11; call f; r0 += *(fp-8)   f: *(fp-8) = 5 (its own frame); r0 = 30
    prog = [Instruction(op.BPF_ST | op.BPF_MEM | op.BPF_DW, dst=10, off=-8, imm=11),
            mov(6, 100),
            Instruction(op.CALL, src=op.BPF_PSEUDO_CALL, imm=4),
            Instruction(op.BPF_LDX | op.BPF_MEM | op.BPF_DW, dst=1, src=10, off=-8),
            Instruction(op.BPF_ALU64 | op.BPF_ADD | op.BPF_X, dst=0, src=1),
            Instruction(op.BPF_ALU64 | op.BPF_ADD | op.BPF_X, dst=0, src=6),
            Instruction(op.EXIT),
            Instruction(op.BPF_ST | op.BPF_MEM | op.BPF_DW, dst=10, off=-8, imm=5),
            mov(6, 0), mov(0, 30), Instruction(op.EXIT)]
    assert run(prog, jit) == 141


@pytest.mark.parametrize("jit", EXECUTORS)
def test_unbounded_recursion_is_stopped(jit):
    prog = [Instruction(op.CALL, src=op.BPF_PSEUDO_CALL, imm=-1), Instruction(op.EXIT)]
    with pytest.raises(ebpf.RuntimeFault, match="call stack too deep"):
        run(prog, jit)


def test_unknown_helper_is_a_load_error():
    prog = [Instruction(op.CALL, imm=9999), Instruction(op.EXIT)]
    with pytest.raises(ebpf.LoadError, match="unknown helper #9999"):
        run(prog, True)
    # a kernel helper this program type may call but the vm does not have (if any left)
    from ebpf.vm.helpers.table import HELPERS, refusal

    missing = [h for h in ebpf.HelperId if int(h) and int(h) not in HELPERS
               and refusal(int(h), int(ebpf.ProgramType.RAW_TRACEPOINT), True) is None]
    for h in missing[:3]:
        prog = [Instruction(op.CALL, imm=int(h)), Instruction(op.EXIT)]
        with pytest.raises(ebpf.LoadError, match=f"bpf_{h.name} .* not supported by the vm"):
            run(prog, True)


def test_malformed_jump_is_a_load_error():
    with pytest.raises(ebpf.LoadError, match="out of range"):
        run([Instruction(op.JA, off=5), Instruction(op.EXIT)], True)


@pytest.mark.parametrize("jit", EXECUTORS)
def test_bpf_loop_with_trivial_callback_hits_the_budget(jit):
    # bpf_loop(1 << 23, cb, 0, 0) where cb just returns 0: bounded by the budget
    prog = [Instruction(op.BPF_ALU64 | op.BPF_MOV, dst=1, imm=1 << 23),
            Instruction(op.LD_IMM64, dst=2, src=op.BPF_PSEUDO_FUNC, imm=4),
            Instruction(op.BPF_ALU64 | op.BPF_MOV, dst=3, imm=0),
            Instruction(op.BPF_ALU64 | op.BPF_MOV, dst=4, imm=0),
            Instruction(op.CALL, imm=int(ebpf.HelperId.loop)),
            Instruction(op.EXIT),
            Instruction(op.BPF_ALU64 | op.BPF_MOV, dst=0, imm=0),
            Instruction(op.EXIT)]
    p = load_program(ebpf.ProgramSpec(name="loop", type=ebpf.ProgramType.XDP, instructions=prog),
                     **_how(jit), budget=5_000)
    with pytest.raises(ebpf.RuntimeFault, match="budget"):
        p.test_run(bytes(14))
