"""Verifier state: registers and stack of each call frame, held references,
the spin lock; copying, and the *covers* relation used to prune paths.

The stack of a frame is 64 slots of 8 bytes (``fp-8`` is slot 0). Each byte is
``i`` (invalid: never written), ``m`` (misc: some scalar), ``z`` (zero) or
``s`` (part of a spilled register, kept whole in the slot).

Stack liveness (the kernel's read marks): each prune point's checkpoint learns
which stack slots some path from it reads before writing them whole; a finished
checkpoint is compared on those slots only, so what a path left behind in slots
it never reads again does not keep a later path from being pruned.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .types import NOT_INIT, Kind, Reg

SLOTS = 64
ALL_SLOTS = (1 << SLOTS) - 1
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
    #: slots (bit i: ``fp-8*(i+1)``) written whole since the last checkpoint; a fresh
    #: frame counts as all written (nothing before it can be read through it)
    written: int = ALL_SLOTS

    def copy(self) -> Frame:
        return Frame(list(self.regs), list(self.stack), self.callsite, self.subprog,
                     self.depth, self.callback_of, self.entry, self.written)


@dataclass(slots=True, eq=False)
class Checkpoint:
    """Stack liveness at a prune point: ``read[f]``, the slots of frame ``f`` some path
    from here reads before writing them whole (complete once every path under the
    checkpoint is explored); ``written[f]``, those the path from ``parent`` to here
    wrote whole (they screen reads from going further up)."""

    parent: Checkpoint | None
    written: tuple[int, ...]
    read: list[int]


@dataclass(slots=True)
class State:
    frames: list[Frame]
    refs: dict[int, int] = field(default_factory=dict)   # ref id -> insn that acquired it
    lock: tuple | None = None                           # (map name, value offset, reg id)
    rcu: int = 0                                        # bpf_rcu_read_lock depth
    insn: int = 0
    #: iterator next() calls so far on this path (loops over an iterator progress)
    iter_depth: int = 0
    #: the last checkpoint on this path (None before the first)
    ckpt: Checkpoint | None = None

    @property
    def cur(self) -> Frame:
        return self.frames[-1]

    @property
    def regs(self) -> list[Reg]:
        return self.frames[-1].regs

    def copy(self) -> State:
        return State([f.copy() for f in self.frames], dict(self.refs), self.lock, self.rcu,
                     self.insn, self.iter_depth, self.ckpt)

    def checkpoint(self) -> Checkpoint:
        """Start a new checkpoint here: the path's writes so far go with it."""
        cp = Checkpoint(self.ckpt, tuple(f.written for f in self.frames),
                        [0] * len(self.frames))
        for f in self.frames:
            f.written = 0
        self.ckpt = cp
        return cp

    def mark_read(self, fi: int, mask: int) -> None:
        """The path reads slots ``mask`` of frame ``fi``: the checkpoints above it, up to
        a write of each slot, learn that the slot is live."""
        mask &= ~self.frames[fi].written
        cp = self.ckpt
        while mask and cp is not None and fi < len(cp.read):
            mask &= ~cp.read[fi]       # marked already: and so are its ancestors
            cp.read[fi] |= mask
            mask &= ~cp.written[fi]
            cp = cp.parent

    def mark_written(self, fi: int, idx: int) -> None:
        self.frames[fi].written |= 1 << idx

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


def slot_mask(lo: int, hi: int) -> int:
    """The slots holding stack bytes [lo, hi) (negative fp offsets)."""
    first, last = (-hi) // 8, (-lo - 1) // 8
    return ((1 << (last + 1)) - 1) & ~((1 << first) - 1)


def covers(old: State, new: State, live: int, exact: bool = False,
           read: list[int] | None = None) -> bool:
    """``old`` (already explored) covers ``new``: anything reachable from ``new``
    was reachable from ``old``. ``live`` masks the current frame's registers that
    are read later (dead ones do not matter); ``read``, when given, each frame's
    stack slots read later (only those are compared)."""
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
        if read is not None:
            m = read[fi]
            while m:
                i = (m & -m).bit_length() - 1
                m &= m - 1
                so, sn = fo.stack[i], fn.stack[i]
                if so is not sn and so is not EMPTY and not _slot_covers(so, sn, ids, exact):
                    return False
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
