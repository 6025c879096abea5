"""Stack liveness in state pruning (the kernel's read marks).

A state reached at a prune point is pruned against an explored one compared only on
the stack slots some path from there reads before writing them whole:

* paths that differ only in slots never read again are pruned, so a chain of
  branches each leaving a different constant in its own dead slot is verified in
  linear time (the kernel accepts it; compared on every slot, its 2**24 paths
  would pass the 1M instruction limit);
* a slot read after the join, directly, by a called subprogram through a pointer
  to the caller's stack, or by a helper, keeps paths that differ in it apart:
  the unsafe one is still found, whichever order the paths are explored in.
"""

from __future__ import annotations

import pytest

import ebpf
from ebpf.spec import ProgramSpec
from ebpf.verifier import verify_program

from .reject_corpus import SF, spec_of

DIAMONDS = 24


def _dead_slots_program() -> str:
    """24 branches on skb->len, each leaving 1 or 2 in its own stack slot; no slot
    is read again (and the branch register is loaded afresh for each)."""
    lines = []
    for k in range(DIAMONDS):
        off = 8 * (k + 1)
        lines += ["r2 = *(u32 *)(r1 + 0x0)",
                  f"if r2 & 0x{1 << (k % 30):x} goto +0x3",
                  "r3 = 0x1",
                  f"*(u64 *)(r10 - 0x{off:x}) = r3",
                  "goto +0x2",
                  "r3 = 0x2",
                  f"*(u64 *)(r10 - 0x{off:x}) = r3"]
    lines += ["r0 = 0x0", "exit"]
    return "\n".join(lines)


def _spec(name: str, text: str) -> ProgramSpec:
    return spec_of(name, SF, text).programs[name]


def test_paths_differing_only_in_dead_slots_are_pruned():
    res = verify_program(_spec("dead_slots", _dead_slots_program()))
    assert res.accepted, res.error
    # a few instructions per branch and path, not 2**24 paths
    assert res.processed_insns < 40 * DIAMONDS, res.processed_insns


@pytest.mark.kernel
def test_the_kernel_and_the_vm_load_it():
    spec = spec_of("dead_slots", SF, _dead_slots_program())
    for backend in ("kernel", "vm"):
        with ebpf.load(spec, backend=backend) as obj:
            assert "dead_slots" in obj.programs


# one path spills a pointer to fp-16 into fp-8, the other the scalar 7; after the
# join fp-8 is read and dereferenced: the scalar path must be refused
_SPLIT = """r2 = *(u32 *)(r1 + 0x0)
r6 = 0x0
*(u64 *)(r10 - 0x10) = r6
if r2 {cond} 0x5 goto +0x4
r3 = r10
r3 += -0x10
*(u64 *)(r10 - 0x8) = r3
goto +0x2
r3 = 0x7
*(u64 *)(r10 - 0x8) = r3
"""

_READ_HERE = """r4 = *(u64 *)(r10 - 0x8)
r0 = *(u64 *)(r4 + 0x0)
r0 = 0x0
exit"""

_READ_IN_CALLEE = """r1 = r10
r1 += -0x8
call 0x2 <pc+0x2>
r0 = 0x0
exit
r4 = *(u64 *)(r1 + 0x0)
r0 = *(u64 *)(r4 + 0x0)
r0 = 0x0
exit"""


@pytest.mark.parametrize("cond", [">", "<="], ids=["pointer_first", "scalar_first"])
@pytest.mark.parametrize("tail", [_READ_HERE, _READ_IN_CALLEE], ids=["direct", "callee"])
def test_a_slot_read_after_the_join_keeps_the_paths_apart(cond, tail):
    res = verify_program(_spec("live_slot", _SPLIT.format(cond=cond) + tail))
    assert not res.accepted
    assert "invalid mem access 'scalar'" in res.error, res.error


@pytest.mark.kernel
@pytest.mark.parametrize("tail", [_READ_HERE, _READ_IN_CALLEE], ids=["direct", "callee"])
def test_the_kernel_refuses_them_too(tail):
    from ebpf.verifier.compare import kernel_verdict

    spec = spec_of("live_slot", SF, _SPLIT.format(cond=">") + tail)
    assert kernel_verdict(spec, "live_slot").accepted is False


# a helper reads a slot (the key of a lookup) the two paths left different values in
_HELPER = """r2 = *(u32 *)(r1 + 0x0)
r3 = 0x0
*(u64 *)(r10 - 0x10) = r3
if r2 > 0x5 goto +0x3
r6 = 0x0
*(u64 *)(r10 - 0x8) = r6
goto +0x2
r6 = 0x7
*(u64 *)(r10 - 0x8) = r6
r1 = map:array
r2 = r10
r2 += -0x{key:x}
call 0x1
r0 = 0x0
exit"""


def test_a_slot_a_helper_reads_is_live():
    """Both programs are safe; the key is read from the slot the branches wrote
    (fp-8) or from one they did not (fp-16). Only in the first does the second path
    go on past the join, to the lookup."""
    walked = {}
    for key in (8, 16):
        spec = spec_of("helper_reads", SF, _HELPER.format(key=key))
        res = verify_program(spec.programs["helper_reads"], spec.maps)
        assert res.accepted, res.error
        walked[key] = res.processed_insns
    assert walked[8] > walked[16], walked
