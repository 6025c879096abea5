"""The vm's bpf_get_stack / bpf_get_stackid: the program's own call chain, innermost
first, as code addresses; the same on the three executors; shown by ebpf run's
live view as instruction slots."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

import ebpf
from ebpf.isa import opcodes as op
from ebpf.stacks import StackTraceMap
from ebpf.vm.code import CODE_BASE

PROG = Path(__file__).with_name("progs") / "vmstacks.bpf.c"


@pytest.fixture(scope="module")
def obj_path(tmp_path_factory):
    return ebpf.compile(PROG, tmp_path_factory.mktemp("vmstacks") / "vmstacks.bpf.o")


@pytest.mark.parametrize("executor", ["interpreter", "translator", "native"])
def test_stack_is_the_call_chain(obj_path, executor):
    with ebpf.load(obj_path, backend="vm", executor=executor) as obj:
        prog = obj.programs["top"]
        assert prog.run([0]) == 0
        v = obj.variables
        nbytes, sid, again, skipped = (v["nbytes"].value, v["stack_id"].value,
                                       v["stack_id_again"].value, v["skipped"].value)
        frames = list(v["frames"].value)
        code = prog.code
        assert nbytes == 3 * 8, nbytes
        chain = frames[:3]
        slots = [(a - CODE_BASE) // 8 for a in chain]
        assert all(a >= CODE_BASE and (a - CODE_BASE) % 8 == 0 for a in chain)
        ins = [code.slots[s] for s in slots]
        # innermost: the bpf_get_stack call itself; then the calls leaf <- middle <- top
        assert ins[0].opcode == op.CALL and ins[0].src == 0 and ins[0].imm == 67
        assert all(i.opcode == op.CALL and i.src == op.BPF_PSEUDO_CALL for i in ins[1:])
        callee = [s + 1 + i.imm for s, i in zip(slots[1:], ins[1:], strict=True)]
        funcs = sorted(code.functions)

        def func_of(slot: int) -> int:
            return max(f for f in funcs if f <= slot)

        assert callee[0] == func_of(slots[0])  # middle calls the function holding leaf's call
        assert callee[1] == func_of(slots[1])  # top calls middle
        assert func_of(slots[2]) == 0  # the chain ends in the program's entry function
        # skip 1 frame: the two callers only
        assert skipped == 2 * 8 and frames[8:10] == chain[1:]
        # the stack map holds the chain (stackid's own call instruction innermost)
        assert sid >= 0 and again >= 0 and sid != again
        st = StackTraceMap(obj.maps["stacks"])
        got = st.get(sid)
        assert got[1:] == chain[1:] and got[0] == chain[0] + 8 * _distance(code, slots[0])
        assert len(st.get(again)) == 2



def _distance(code, helper_slot: int) -> int:
    """Slots from the bpf_get_stack call to the next bpf_get_stackid call."""
    s = helper_slot + 1
    while not (code.slots[s] and code.slots[s].opcode == op.CALL and code.slots[s].imm == 27):
        s += 1
    return s - helper_slot


def test_executors_agree(obj_path):
    out = {}
    for executor in ("interpreter", "translator", "native"):
        with ebpf.load(obj_path, backend="vm", executor=executor) as obj:
            obj.programs["top"].run([0])
            out[executor] = (list(obj.variables["frames"].value),
                             obj.variables["stack_id"].value)
    assert out["interpreter"] == out["translator"] == out["native"]


def test_live_view_names_instruction_slots(obj_path):
    import io

    from ebpf.live import LiveView

    with ebpf.load(obj_path, backend="vm") as obj:
        obj.programs["top"].run([0])
        out = io.StringIO()
        LiveView(obj, out=out, mode="plain").print_tables(final=True)
    text = out.getvalue()
    assert "stacks: 2 distinct, total 2" in text, text
    assert text.count("bpf insn ") == 3 + 2, text  # the two stackid chains


def test_stackid_collisions_follow_the_kernel_rules(obj_path):
    with ebpf.load(obj_path, backend="vm", executor="interpreter") as obj:
        prog = obj.programs["top"]
        prog.run([0])
        sid = obj.variables["stack_id"].value
        # a different stack already in that bucket: -EEXIST without BPF_F_REUSE_STACKID
        m = obj.maps["stacks"]
        m.store_stack(sid, struct.pack("<Q", 0x1234), reuse=True)
        prog.run([0])
        assert obj.variables["stack_id"].value == -17
