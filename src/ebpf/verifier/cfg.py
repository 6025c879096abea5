"""The control-flow graph of a program: instructions by slot, subprograms,
basic blocks, back edges, register liveness — and the structural checks the
kernel makes before it looks at any value (``check_cfg``): jumps in range, no
fall-through off the end, no unreachable instruction, no recursion.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .._internal.ints import s32
from ..isa import opcodes as op
from ..isa.instruction import FunctionReference, Instruction


class CFGError(Exception):
    """A structural defect; ``insn`` is the slot it is reported at."""

    def __init__(self, message: str, insn: int = -1):
        super().__init__(message)
        self.insn = insn


@dataclass
class Subprog:
    """A function: its first slot, the slot after its last, and whom it calls."""

    start: int
    end: int
    calls: set[int] = field(default_factory=set)
    name: str = ""


@dataclass
class CFG:
    insns: list[Instruction | None]          # by slot; None = second half of an lddw
    subprogs: list[Subprog]
    succs: dict[int, list[int]]
    back_edges: set[tuple[int, int]]
    prune_points: set[int]
    #: registers live on entry to each slot (bit i = Ri)
    live_in: list[int]

    def subprog_at(self, slot: int) -> int:
        for i, sp in enumerate(self.subprogs):
            if sp.start <= slot < sp.end:
                return i
        raise KeyError(slot)

    def subprog_index(self, start: int) -> int:
        for i, sp in enumerate(self.subprogs):
            if sp.start == start:
                return i
        raise KeyError(start)


def by_slot(instructions: list[Instruction]) -> list[Instruction | None]:
    out: list[Instruction | None] = []
    for ins in instructions:
        out.append(ins)
        if ins.is_lddw:
            out.append(None)
    return out


def _is_cond(ins: Instruction) -> bool:
    return ins.is_jump and (ins.opcode & 0xF0) != op.BPF_JA


def _jcond(ins: Instruction) -> bool:
    """``may_goto`` (BPF_JMP | BPF_JCOND)."""
    return ins.opcode == (op.BPF_JMP | 0xE0)


def successors(ins: Instruction, slot: int) -> list[int]:
    if ins.is_exit:
        return []
    if ins.is_jump or _jcond(ins):
        target = ins.jump_target(slot)
        if (ins.opcode & 0xF0) == op.BPF_JA and not _jcond(ins):
            return [target]
        return [slot + 1, target]
    return [slot + ins.size]


def _uses_defs(ins: Instruction) -> tuple[int, int]:
    """(registers read, registers written) as bit sets."""
    c = ins.cls
    code = ins.opcode
    if ins.is_exit:
        return 1 << 0, 0
    if ins.is_call:
        return 0b111110, 0b111111
    if c in (op.BPF_ALU, op.BPF_ALU64):
        o = code & 0xF0
        uses = 0 if o == op.BPF_MOV else 1 << ins.dst
        if code & op.BPF_X and o not in (op.BPF_NEG, op.BPF_END):
            uses |= 1 << ins.src
        return uses, 1 << ins.dst
    if c == op.BPF_LDX:
        return 1 << ins.src, 1 << ins.dst
    if c == op.BPF_ST:
        return 1 << ins.dst, 0
    if c == op.BPF_STX:
        uses = (1 << ins.dst) | (1 << ins.src)
        if (code & 0xE0) == op.BPF_ATOMIC:
            if ins.imm == op.BPF_CMPXCHG:
                return uses | 1, 1
            if ins.imm & op.BPF_FETCH:
                return uses, 1 << ins.src
        return uses, 0
    if c == op.BPF_LD:
        if ins.is_lddw:
            return 0, 1 << ins.dst
        mode = code & 0xE0
        uses = 1 << 6  # LD_ABS/LD_IND read the skb from r6
        if mode == op.BPF_IND:
            uses |= 1 << ins.src
        return uses, 0b111111
    if c in (op.BPF_JMP, op.BPF_JMP32):
        if _is_cond(ins):
            uses = 1 << ins.dst
            if code & op.BPF_X:
                uses |= 1 << ins.src
            return uses, 0
    return 0, 0


def build(instructions: list[Instruction]) -> CFG:
    """Build the CFG and run the structural checks (raises :class:`CFGError`)."""
    insns = by_slot(instructions)
    n = len(insns)
    if n == 0:
        raise CFGError("empty program")
    # subprogram starts: 0 and every local call / function-pointer target
    starts = {0}
    for slot, ins in enumerate(insns):
        if ins is None:
            continue
        if ins.is_local_call or (ins.is_lddw and ins.src == op.BPF_PSEUDO_FUNC):
            t = ins.jump_target(slot) if ins.is_local_call else slot + 1 + s32(ins.imm)
            if ins.is_lddw and isinstance(ins.reference, FunctionReference) and ins.imm == 0:
                raise CFGError(f"unresolved function reference {ins.reference.function}", slot)
            if not 0 <= t < n or insns[t] is None:
                raise CFGError(f"call to invalid destination from insn {slot} to {t}", slot)
            starts.add(t)
    bounds = sorted(starts) + [n]
    subprogs = [Subprog(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]
    succs: dict[int, list[int]] = {}
    for slot, ins in enumerate(insns):
        if ins is None:
            continue
        sp = next(s for s in subprogs if s.start <= slot < s.end)
        if ins.is_lddw and slot + 1 >= n:
            raise CFGError("invalid BPF_LD_IMM insn", slot)
        nxt = successors(ins, slot)
        for t in nxt:
            if t == slot + 1 or t == slot + 2 and ins.is_lddw:
                if t >= sp.end:
                    if t >= n:
                        raise CFGError("last insn is not an exit or jmp", slot)
                    raise CFGError(f"jump out of range from insn {slot} to {t}", slot)
            elif not sp.start <= t < sp.end or insns[t] is None:
                raise CFGError(f"jump out of range from insn {slot} to {t}", slot)
        if ins.is_local_call:
            sp.calls.add(ins.jump_target(slot))
        succs[slot] = nxt
    # DFS from each subprogram start: back edges, unreachable instructions
    back: set[tuple[int, int]] = set()
    seen: set[int] = set()
    prune: set[int] = set()
    for sp in subprogs:
        color: dict[int, int] = {}
        stack = [(sp.start, iter(succs[sp.start]))]
        color[sp.start] = 1
        while stack:
            node, it = stack[-1]
            for t in it:
                if color.get(t) == 1:
                    back.add((node, t))
                    prune.add(t)
                elif t not in color:
                    color[t] = 1
                    stack.append((t, iter(succs[t])))
                    break
            else:
                color[node] = 2
                stack.pop()
        seen |= set(color)
    for slot, ins in enumerate(insns):
        if ins is not None and slot not in seen:
            raise CFGError(f"unreachable insn {slot}", slot)
        if ins is not None and (ins.is_jump or _jcond(ins) or ins.is_call):
            prune.update(t for t in succs[slot])
            if ins.is_call:
                prune.add(slot)
    prune.update(sp.start for sp in subprogs)
    _check_recursion(subprogs)
    return CFG(insns, subprogs, succs, back, prune, _liveness(insns, succs))


def _check_recursion(subprogs: list[Subprog]) -> None:
    index = {sp.start: i for i, sp in enumerate(subprogs)}
    state: dict[int, int] = {}

    def visit(i: int, path: list[int]) -> None:
        state[i] = 1
        for c in subprogs[i].calls:
            j = index[c]
            if state.get(j) == 1:
                raise CFGError(f"recursive call from subprog {i} to {j}", subprogs[i].start)
            if j not in state:
                visit(j, path + [j])
        state[i] = 2

    visit(0, [0])


def _liveness(insns: list[Instruction | None], succs: dict[int, list[int]]) -> list[int]:
    live = [0] * len(insns)
    ud = {s: _uses_defs(i) for s, i in enumerate(insns) if i is not None}
    preds: dict[int, list[int]] = {}
    for s, ts in succs.items():
        for t in ts:
            preds.setdefault(t, []).append(s)
    work = list(ud)
    inq = set(work)
    while work:
        s = work.pop()
        inq.discard(s)
        uses, defs = ud[s]
        out = 0
        for t in succs[s]:
            out |= live[t]
        new = uses | (out & ~defs)
        if new != live[s]:
            live[s] = new
            for p in preds.get(s, ()):
                if p not in inq:
                    inq.add(p)
                    work.append(p)
    return live
