"""Arbitrary instruction streams never crash the runtime: they are refused at
load (InstructionError/LoadError) or run to a result or a RuntimeFault, and the
translator agrees with the interpreter on which."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ebpf
from ebpf.isa import Instruction
from ebpf.isa import opcodes as op
from ebpf.vm.programs import load_program

OPCODES = sorted({
    *(cls | aop | src for cls in (op.BPF_ALU, op.BPF_ALU64)
      for aop in range(0, 0xE0, 0x10) for src in (0, 8)),
    *(cls | jop | src for cls in (op.BPF_JMP, op.BPF_JMP32)
      for jop in range(0, 0xE0, 0x10) for src in (0, 8)),
    *(op.BPF_LDX | mode | size for mode in (op.BPF_MEM, op.BPF_MEMSX)
      for size in (op.BPF_B, op.BPF_H, op.BPF_W, op.BPF_DW)),
    *(op.BPF_ST | op.BPF_MEM | size for size in (op.BPF_B, op.BPF_H, op.BPF_W, op.BPF_DW)),
    *(op.BPF_STX | mode | size for mode in (op.BPF_MEM, op.BPF_ATOMIC)
      for size in (op.BPF_B, op.BPF_H, op.BPF_W, op.BPF_DW)),
    op.LD_IMM64, op.BPF_LD | op.BPF_ABS | op.BPF_W, op.BPF_LD | op.BPF_IND | op.BPF_B,
    op.EXIT, op.EXIT, op.EXIT,
})

insn = st.builds(
    Instruction,
    st.sampled_from(OPCODES), st.integers(0, 10), st.integers(0, 10),
    st.one_of(st.integers(-4, 4), st.sampled_from([-8, -512, 8, 16, 32, 1])),
    st.one_of(st.integers(-3, 70), st.sampled_from([0x8000_0000, -(2**31), 1, 0xE1, 0xF1]),
              st.integers(-(2**31), 2**31 - 1)),
)


def outcome(insns, jit):
    try:
        prog = load_program(ebpf.ProgramSpec(name="fuzz", type=ebpf.ProgramType.SCHED_CLS,
                                             instructions=insns), jit=jit, budget=3000)
    except (ebpf.InstructionError, ebpf.LoadError) as e:
        return ("refused", type(e).__name__, str(e))
    try:
        r = prog.test_run(bytes(range(64)))
        return ("ran", r.retval, r.data)
    except ebpf.RuntimeFault as e:
        if "budget" in e.reason:
            return ("budget",)
        return ("fault", e.reason)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(insn, min_size=1, max_size=12))
def test_random_instruction_streams(insns):
    a = outcome(insns, jit=False)
    b = outcome(insns, jit=True)
    assert a == b


def test_bad_helper_arguments_fault_cleanly():
    # bpf_map_lookup_elem(r1 = 12345, ...) is no map
    prog = [Instruction(op.BPF_ALU64 | op.BPF_MOV, dst=1, imm=12345),
            Instruction(op.CALL, imm=1), Instruction(op.EXIT)]
    p = load_program(ebpf.ProgramSpec(name="bad", type=ebpf.ProgramType.XDP, instructions=prog))
    with pytest.raises(ebpf.RuntimeFault, match="at instruction 1: .*not a map pointer"):
        p.test_run(bytes(14))


def _helper_prog(hid, args):
    """r1..r5 = args (ints, or "fp"/"ctx" for pointers into the stack / context)."""
    insns = [Instruction(op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, dst=6, src=1)]
    for reg, a in zip(range(1, 6), args, strict=True):
        if a == "fp":
            insns += [Instruction(op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, dst=reg, src=10),
                      Instruction(op.BPF_ALU64 | op.BPF_ADD, dst=reg, imm=-64)]
        elif a == "ctx":
            insns.append(Instruction(op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, dst=reg, src=6))
        else:
            insns.append(Instruction(op.LD_IMM64, dst=reg, imm=a))
    return insns + [Instruction(op.CALL, imm=hid), Instruction(op.EXIT)]


def _type_calling(hid: int) -> ebpf.ProgramType:
    """A program type that may call helper ``hid`` (the runtime's allow-lists)."""
    from ebpf.vm.helpers import refusal

    PT = ebpf.ProgramType
    for t in (PT.SCHED_CLS, PT.KPROBE, PT.XDP, PT.CGROUP_SYSCTL, PT.SK_MSG, PT.SOCK_OPS,
              PT.CGROUP_SOCK_ADDR, PT.SK_LOOKUP, PT.LSM, PT.TRACING, PT.CGROUP_SKB,
              PT.SK_REUSEPORT, PT.STRUCT_OPS, PT.CGROUP_SOCKOPT):
        if refusal(hid, t, True) is None:
            return t
    return PT.SCHED_CLS


@settings(max_examples=300, deadline=None)
@given(hid=st.sampled_from(sorted(__import__("ebpf.vm.helpers", fromlist=["HELPERS"]).HELPERS)),
       args=st.lists(st.one_of(st.sampled_from(["fp", "ctx"]),
                               st.sampled_from([0, 1, 8, 64, 2**32 - 1, 2**63, 2**64 - 1]),
                               st.integers(0, 2**64 - 1)), min_size=5, max_size=5),
       jit=st.booleans())
def test_helpers_with_arbitrary_arguments(hid, args, jit):
    """Any arguments: a result or an ebpf error, never another exception."""
    prog = load_program(ebpf.ProgramSpec(name="h", type=_type_calling(hid), license="GPL",
                                         instructions=_helper_prog(hid, args)), jit=jit,
                        budget=20_000)
    try:
        prog.test_run(bytes(range(64)))
    except ebpf.Error:
        pass
