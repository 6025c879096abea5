"""Conditional jumps (a base of :class:`~ebpf.verifier.checker.Verifier`): both
sides of a branch with what each side learns — scalar bounds refined on each
side (and on every register holding the same value), a pointer NULL on one side
and not NULL on the other, a packet pointer's checked range against the end.
"""

from __future__ import annotations

from ..isa import opcodes as op
from ..isa.instruction import Instruction
from . import scalar as sc
from .memory import RuleBase
from .scalar import Infeasible, Scalar
from .state import State
from .types import Kind, Reg, Reject, const

__all__ = ["BranchRules"]

_JMP_NAMES = {op.BPF_JEQ: "jeq", op.BPF_JNE: "jne", op.BPF_JGT: "jgt", op.BPF_JGE: "jge",
              op.BPF_JLT: "jlt", op.BPF_JLE: "jle", op.BPF_JSGT: "jsgt", op.BPF_JSGE: "jsge",
              op.BPF_JSLT: "jslt", op.BPF_JSLE: "jsle", op.BPF_JSET: "jset"}


class BranchRules(RuleBase):
    """Conditional jump checks."""

    def cond_jump(self, st: State, ins: Instruction, slot: int) -> list[State]:
        code = ins.opcode & 0xF0
        is64 = ins.cls == op.BPF_JMP
        name = _JMP_NAMES.get(code)
        if name is None:
            raise Reject(f"invalid BPF_JMP/JMP32 opcode {code:x}")
        rel = sc.RELATIONS[name]
        d = self.read(st, ins.dst)
        if ins.opcode & op.BPF_X:
            s = self.read(st, ins.src)
        else:
            if ins.src != 0:
                raise Reject("BPF_JMP/JMP32 uses reserved fields")
            s = const(ins.imm & ((1 << 64) - 1) if is64 else ins.imm & 0xFFFFFFFF)
        taken_slot = ins.jump_target(slot)
        fall_slot = slot + 1
        if d.kind is Kind.SCALAR and s.kind is Kind.SCALAR:
            return self._scalar_branch(st, ins, rel, d, s, is64, taken_slot, fall_slot)
        if rel in ("eq", "ne") and is64:
            ptr, other = (d, s) if d.is_ptr else (s, d)
            if ptr.is_ptr and other.is_const(0):
                return self._null_branch(st, ptr, rel == "eq", taken_slot, fall_slot)
        if is64 and d.is_ptr and s.is_ptr:
            out = self._packet_branch(st, rel, d, s, taken_slot, fall_slot)
            if out is not None:
                return out
        taken = st.copy()
        st.insn = fall_slot
        taken.insn = taken_slot
        return [st, taken]

    def _scalar_branch(self, st: State, ins: Instruction, rel: str, d: Reg, s: Reg, is64: bool,
                       taken_slot: int, fall_slot: int) -> list[State]:
        out: list[tuple[int, Scalar, Scalar]] = []
        # the fall-through first on the list (continued at once), as the kernel pushes
        # the taken branch
        for rel_here, target in ((sc.NEGATE[rel], fall_slot), (rel, taken_slot)):
            try:
                dv, sv = sc.refine(rel_here, d.var, s.var, is64)
            except Infeasible:
                continue
            out.append((target, dv, sv))
        states: list[State] = []
        for i, (target, dv, sv) in enumerate(out):
            ns = st if i == len(out) - 1 else st.copy()
            self._set_scalar(ns, ins.dst, d, dv)
            if ins.opcode & op.BPF_X:
                self._set_scalar(ns, ins.src, s, sv)
            ns.insn = target
            states.append(ns)
        return states

    def _set_scalar(self, st: State, regno: int, old: Reg, var: Scalar) -> None:
        st.regs[regno] = old.with_(var=var)
        if old.id:
            ident = old.id
            st.map_regs(lambda r: r.with_(var=var) if r.kind is Kind.SCALAR and r.id == ident
                        else r)

    def _null_branch(self, st: State, ptr: Reg, eq: bool, taken_slot: int,
                     fall_slot: int) -> list[State]:
        if not ptr.nullable:
            # a pointer that cannot be NULL: only the "not equal" side
            st.insn = fall_slot if eq else taken_slot
            return [st]
        ident = ptr.id
        null_st = st.copy()
        null_st.map_regs(lambda r: const(0) if r.id == ident and r.is_ptr and r.nullable else r)
        if ptr.ref and ptr.ref in null_st.refs:
            del null_st.refs[ptr.ref]
        st.map_regs(lambda r: r.with_(nullable=False) if r.id == ident and r.is_ptr else r)
        null_st.insn = taken_slot if eq else fall_slot
        st.insn = fall_slot if eq else taken_slot
        return [st, null_st]

    def _packet_branch(self, st: State, rel: str, d: Reg, s: Reg, taken_slot: int,
                       fall_slot: int) -> list[State] | None:
        pkt_kinds = {(Kind.PACKET, Kind.PACKET_END), (Kind.PACKET_META, Kind.PACKET)}
        if (d.kind, s.kind) in pkt_kinds:
            ptr, flip = d, False
        elif (s.kind, d.kind) in pkt_kinds:
            ptr, flip = s, True
        else:
            return None
        if flip:  # express as "ptr REL end"
            rel = {"ugt": "ult", "uge": "ule", "ult": "ugt", "ule": "uge"}.get(rel, rel)
        # (ptr < end) or (ptr <= end) on the side where it holds
        good = {"ugt": ("fall", 0), "uge": ("fall", 1), "ult": ("taken", 1), "ule": ("taken", 0)}
        other = st.copy()
        st.insn, other.insn = fall_slot, taken_slot
        if rel in good:
            side, extra = good[rel]
            target = st if side == "fall" else other
            self._mark_range(target, ptr, ptr.off + extra)
        return [st, other]

    def _mark_range(self, st: State, ptr: Reg, rng: int) -> None:
        if ptr.off < 0 or ptr.var.smin < 0:
            return
        kind, ident = ptr.kind, ptr.id
        var = ptr.var
        st.map_regs(lambda r: r.with_(range=max(r.range, rng))
                    if r.kind is kind and r.id == ident and r.var == var else r)
