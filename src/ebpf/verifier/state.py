"""Verifier state: registers and stack of each call frame, held references,
the spin lock; copying, and the *covers* relation used to prune paths.

The stack of a frame is 64 slots of 8 bytes (``fp-8`` is slot 0). Each byte is
``i`` (invalid: never written), ``m`` (misc: some scalar), ``z`` (zero) or
``s`` (part of a spilled register, kept whole in the slot).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .types import NOT_INIT, Kind, Reg

SLOTS = 64
INVALID = "iiiiiiii"
SPILLED = "ssssssss"


@dataclass(frozen=True, slots=True, eq=False)
class Slot:
    bytes_: str = INVALID
    spill: Reg | None = None


EMPTY = Slot()


@dataclass(slots=True)
class Frame:
    regs: list[Reg]
    stack: list[Slot]
    callsite: int = -1        # slot of the call that made this frame (-1: main)
    subprog: int = 0          # index in cfg.subprogs
    depth: int = 0            # deepest stack byte used (positive)
    #: a callback frame: where its result goes (helper id), None for bpf-to-bpf calls
    callback_of: int | None = None
    #: a callback frame's registers on entry (to verify the next iteration)
    entry: tuple[Reg, ...] | None = None

    def copy(self) -> Frame:
        return Frame(list(self.regs), list(self.stack), self.callsite, self.subprog,
                     self.depth, self.callback_of, self.entry)


@dataclass(slots=True)
class State:
    frames: list[Frame]
    refs: dict[int, int] = field(default_factory=dict)   # ref id -> insn that acquired it
    lock: tuple | None = None                           # (map name, value offset, reg id)
    rcu: int = 0                                        # bpf_rcu_read_lock depth
    insn: int = 0
    #: iterator next() calls so far on this path (loops over an iterator progress)
    iter_depth: int = 0

    @property
    def cur(self) -> Frame:
        return self.frames[-1]

    @property
    def regs(self) -> list[Reg]:
        return self.frames[-1].regs

    def copy(self) -> State:
        return State([f.copy() for f in self.frames], dict(self.refs), self.lock, self.rcu,
                     self.insn, self.iter_depth)

    def all_regs(self):
        """Every register and spilled register (frame index, where, reg)."""
        for fi, f in enumerate(self.frames):
            for i, r in enumerate(f.regs):
                yield fi, ("r", i), r
            for i, s in enumerate(f.stack):
                if s.spill is not None:
                    yield fi, ("s", i), s.spill

    def replace(self, fi: int, where: tuple[str, int], reg: Reg) -> None:
        f = self.frames[fi]
        if where[0] == "r":
            f.regs[where[1]] = reg
        else:
            old = f.stack[where[1]]
            f.stack[where[1]] = Slot(old.bytes_, reg)

    def map_regs(self, fn) -> None:
        """Replace every register r (incl. spills) by fn(r) (fn returns r to keep it)."""
        for fi, where, r in list(self.all_regs()):
            new = fn(r)
            if new is not r:
                self.replace(fi, where, new)


def new_state(regs: list[Reg]) -> State:
    return State([Frame(regs, [EMPTY] * SLOTS)])


# ---- pruning ---------------------------------------------------------------------
class _IdMap:
    def __init__(self) -> None:
        self.fwd: dict[int, int] = {}
        self.back: dict[int, int] = {}

    def same(self, a: int, b: int) -> bool:
        if not a and not b:
            return True
        if not a or not b:
            return False
        if self.fwd.get(a, b) != b or self.back.get(b, a) != a:
            return False
        self.fwd[a] = b
        self.back[b] = a
        return True


def reg_covers(old: Reg, new: Reg, ids: _IdMap, exact: bool = False) -> bool:
    """Every concrete value ``new`` may hold, ``old`` may hold too (and it means
    the same to the rest of the program)."""
    if old.kind is Kind.NOT_INIT:
        return not exact or new.kind is Kind.NOT_INIT
    if old.kind is not new.kind:
        return False
    if old.kind is Kind.SCALAR:
        assert old.var is not None and new.var is not None
        if exact:
            return old.var == new.var and ids.same(old.id, new.id)
        return old.var.covers(new.var) and (not old.id or ids.same(old.id, new.id))
    if (old.off != new.off or old.nullable != new.nullable or old.map is not new.map
            or old.size != new.size or old.rdonly != new.rdonly or old.btf != new.btf
            or old.frame != new.frame):
        return False
    if not ids.same(old.id, new.id) or not ids.same(old.ref, new.ref):
        return False
    if old.kind in (Kind.PACKET, Kind.PACKET_META):
        if exact and old.range != new.range:
            return False
        if new.range < old.range:
            return False
    if old.var is None or new.var is None:
        return old.var is new.var
    return old.var == new.var if exact else old.var.covers(new.var)


def _slot_covers(old: Slot, new: Slot, ids: _IdMap, exact: bool) -> bool:
    if old.bytes_ == new.bytes_ and old.spill is new.spill:
        return True
    if exact:
        if old.bytes_ != new.bytes_:
            return False
        if old.spill is None or new.spill is None:
            return old.spill is new.spill
        return reg_covers(old.spill, new.spill, ids, True)
    if old.spill is not None:
        if new.spill is not None and old.bytes_ != new.bytes_:
            return False
        if new.spill is None:
            # an unknown spilled scalar behaves like misc bytes
            return (old.bytes_ == SPILLED and old.spill.kind is Kind.SCALAR
                    and old.spill.var is not None
                    and old.spill.var.covers(_unknown()) and "i" not in new.bytes_)
        return reg_covers(old.spill, new.spill, ids)
    for ob, nb in zip(old.bytes_, new.bytes_, strict=True):
        if ob == "i":
            continue
        if ob == "m":
            if nb == "i":
                return False
            if nb == "s" and new.spill is not None and new.spill.kind is not Kind.SCALAR:
                return False
        elif ob == "z":
            if nb == "z":
                continue
            if nb == "s" and new.spill is not None and new.spill.is_const(0):
                continue
            return False
    return True


_UNKNOWN = None


def _unknown():
    global _UNKNOWN
    if _UNKNOWN is None:
        from .scalar import Scalar

        _UNKNOWN = Scalar.unknown()
    return _UNKNOWN


def covers(old: State, new: State, live: int, exact: bool = False) -> bool:
    """``old`` (already explored) covers ``new``: anything reachable from ``new``
    was reachable from ``old``. ``live`` masks the current frame's registers that
    are read later (dead ones do not matter)."""
    if len(old.frames) != len(new.frames) or old.lock != new.lock or old.rcu != new.rcu:
        return False
    if exact and old.iter_depth != new.iter_depth:
        return False
    ids = _IdMap()
    last = len(old.frames) - 1
    for fi, (fo, fn) in enumerate(zip(old.frames, new.frames, strict=True)):
        if fo.callsite != fn.callsite or fo.callback_of != fn.callback_of:
            return False
        for i, (ro, rn) in enumerate(zip(fo.regs, fn.regs, strict=True)):
            if fi == last and not exact and not (live >> i) & 1 and i != 10:
                continue
            if not reg_covers(ro, rn, ids, exact):
                return False
        if fo.stack == fn.stack:  # the common case, compared in C
            continue
        for so, sn in zip(fo.stack, fn.stack, strict=True):
            if so is sn or so is EMPTY:
                continue
            if not _slot_covers(so, sn, ids, exact):
                return False
    if len(old.refs) != len(new.refs):
        return False
    return all(any(ids.fwd.get(a) == b for b in new.refs) or a not in ids.fwd
               for a in old.refs)


def fresh_frame_regs() -> list[Reg]:
    return [NOT_INIT] * 11
