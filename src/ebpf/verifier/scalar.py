"""The scalar domain: known bits (:mod:`.tnum`) × signed/unsigned intervals, in
64 and 32 bits (the shape of the kernel's ``bpf_reg_state`` bounds).

A :class:`Scalar` holds a tnum and eight bounds; :meth:`Scalar.sync` lets each
component refine the others (tnum → intervals, unsigned ↔ signed, 64 ↔ 32).
ALU transfer functions (:func:`alu`) and branch refinements (:func:`refine`) are
written once over a *width* (64 or 32) and composed. Every result is an
over-approximation: tests/verifier proves that with z3.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._internal.ints import sext as to_signed
from . import tnum as tn
from .tnum import U32, U64, Tnum

S64_MIN, S64_MAX = -(1 << 63), (1 << 63) - 1
S32_MIN, S32_MAX = -(1 << 31), (1 << 31) - 1


class Infeasible(Exception):
    """A refinement left no value: the branch cannot be taken."""


def smask(bits: int) -> int:
    return (1 << bits) - 1


def srange(bits: int) -> tuple[int, int]:
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


@dataclass(slots=True)
class View:
    """One width's bounds: the tnum of those bits and the four interval ends."""

    bits: int
    t: Tnum
    smin: int
    smax: int
    umin: int
    umax: int

    @staticmethod
    def unknown(bits: int) -> View:
        lo, hi = srange(bits)
        return View(bits, tn.cast(Tnum.unknown(), bits // 8), lo, hi, 0, smask(bits))

    @staticmethod
    def const(v: int, bits: int) -> View:
        v &= smask(bits)
        s = to_signed(v, bits)
        return View(bits, Tnum.const(v), s, s, v, v)

    def is_const(self) -> bool:
        return self.t.mask == 0

    def contains(self, x: int) -> bool:
        x &= smask(self.bits)
        s = to_signed(x, self.bits)
        return (self.t.contains(x) and self.umin <= x <= self.umax
                and self.smin <= s <= self.smax)

    def tighten(self) -> View:
        """Let tnum, unsigned and signed bounds refine one another."""
        bits = self.bits
        for _ in range(3):
            before = (self.t, self.smin, self.smax, self.umin, self.umax)
            t = self.t
            # tnum -> bounds
            self.umin = max(self.umin, t.value)
            self.umax = min(self.umax, (t.value | t.mask) & smask(bits))
            sign = 1 << (bits - 1)
            tsmin = to_signed(t.value | (t.mask & sign), bits)
            tsmax = to_signed((t.value | t.mask) & ~(t.mask & sign), bits)
            self.smin = max(self.smin, tsmin)
            self.smax = min(self.smax, tsmax)
            # unsigned <-> signed when a range does not cross the sign boundary
            if (self.umin ^ self.umax) < sign:  # same sign bit across [umin, umax]
                self.smin = max(self.smin, to_signed(self.umin, bits))
                self.smax = min(self.smax, to_signed(self.umax, bits))
            if (self.smin < 0) == (self.smax < 0):
                self.umin = max(self.umin, self.smin & smask(bits))
                self.umax = min(self.umax, self.smax & smask(bits))
            elif self.smin < 0 <= self.smax:
                # signed range wraps in unsigned: umin >= 0 anyway; if the unsigned
                # range lies in one half, the signed one follows
                if self.umax < sign:
                    self.smin = max(self.smin, 0)
                elif self.umin >= sign:
                    self.smax = min(self.smax, -1)
            if self.umin > self.umax or self.smin > self.smax:
                raise Infeasible
            # bounds -> tnum
            rt = Tnum.range(self.umin, self.umax)
            if (t.value ^ rt.value) & ~(t.mask | rt.mask) & smask(bits):
                raise Infeasible
            self.t = tn.cast(tn.intersect(t, rt), bits // 8)
            if before == (self.t, self.smin, self.smax, self.umin, self.umax):
                break
        return self


@dataclass(slots=True)
class Scalar:
    """A 64-bit scalar: tnum plus s64/u64/s32/u32 bounds."""

    var: Tnum
    smin: int = S64_MIN
    smax: int = S64_MAX
    umin: int = 0
    umax: int = U64
    s32min: int = S32_MIN
    s32max: int = S32_MAX
    u32min: int = 0
    u32max: int = U32

    # ---- constructors ----------------------------------------------------------
    @staticmethod
    def unknown() -> Scalar:
        return Scalar(Tnum.unknown())

    @staticmethod
    def const(v: int) -> Scalar:
        v &= U64
        lo = v & U32
        s64 = to_signed(v, 64)
        s32 = to_signed(lo, 32)
        return Scalar(Tnum(v, 0), s64, s64, v, v, s32, s32, lo, lo)

    @staticmethod
    def urange(lo: int, hi: int) -> Scalar:
        s = Scalar.unknown()
        s.umin, s.umax = lo, hi
        return s.sync()

    @staticmethod
    def from_views(v64: View, v32: View) -> Scalar:
        low = tn.cast(v64.t, 4)
        if (low.value ^ v32.t.value) & ~(low.mask | v32.t.mask) & U32:
            raise Infeasible
        t = tn.with_subreg(v64.t, tn.intersect(low, v32.t))
        return Scalar(t, v64.smin, v64.smax, v64.umin, v64.umax,
                      v32.smin, v32.smax, v32.umin, v32.umax).sync()

    def copy(self) -> Scalar:
        return Scalar(self.var, self.smin, self.smax, self.umin, self.umax,
                      self.s32min, self.s32max, self.u32min, self.u32max)

    # ---- views ------------------------------------------------------------------
    def view(self, bits: int) -> View:
        if bits == 64:
            return View(64, self.var, self.smin, self.smax, self.umin, self.umax)
        return View(32, tn.cast(self.var, 4), self.s32min, self.s32max, self.u32min, self.u32max)

    def set_view(self, v: View) -> None:
        if v.bits == 64:
            self.var, self.smin, self.smax, self.umin, self.umax = v.t, v.smin, v.smax, v.umin, v.umax
        else:
            self.var = tn.with_subreg(self.var, v.t)
            self.s32min, self.s32max, self.u32min, self.u32max = v.smin, v.smax, v.umin, v.umax

    # ---- queries ----------------------------------------------------------------
    def is_const(self) -> bool:
        return self.var.mask == 0

    @property
    def value(self) -> int:
        return self.var.value

    def contains(self, x: int) -> bool:
        x &= U64
        return self.view(64).contains(x) and self.view(32).contains(x & U32)

    def covers(self, other: Scalar) -> bool:
        """Every value of ``other`` is a value of self (for state pruning)."""
        return (other.var.is_subset_of(self.var)
                and self.umin <= other.umin and other.umax <= self.umax
                and self.smin <= other.smin and other.smax <= self.smax
                and self.u32min <= other.u32min and other.u32max <= self.u32max
                and self.s32min <= other.s32min and other.s32max <= self.s32max)

    def sync(self) -> Scalar:
        """Propagate between components (raises :class:`Infeasible` when empty)."""
        if self.var.mask == 0:  # a constant: every bound follows from the value
            c = Scalar.const(self.var.value)
            if not (self.umin <= c.umin <= self.umax and self.smin <= c.smin <= self.smax
                    and self.u32min <= c.u32min <= self.u32max
                    and self.s32min <= c.s32min <= self.s32max):
                raise Infeasible
            (self.smin, self.smax, self.umin, self.umax, self.s32min, self.s32max,
             self.u32min, self.u32max) = (c.smin, c.smax, c.umin, c.umax, c.s32min, c.s32max,
                                          c.u32min, c.u32max)
            return self
        for _ in range(2):
            v64 = self.view(64).tighten()
            self.set_view(v64)
            v32 = self.view(32).tighten()
            self.set_view(v32)
            # 64 -> 32: when the upper 32 bits are the same across the u64 range
            if (self.umin >> 32) == (self.umax >> 32):
                self.u32min = max(self.u32min, self.umin & U32)
                self.u32max = min(self.u32max, self.umax & U32)
            if (self.smin >> 32) == (self.smax >> 32):
                lo, hi = to_signed(self.smin, 32), to_signed(self.smax, 32)
                if lo <= hi:
                    self.s32min = max(self.s32min, lo)
                    self.s32max = min(self.s32max, hi)
            # 32 -> 64: when the upper 32 bits are known zero
            if self.umax <= U32:
                self.umin = max(self.umin, self.u32min)
                self.umax = min(self.umax, self.u32max)
            if self.u32min > self.u32max or self.s32min > self.s32max \
                    or self.umin > self.umax or self.smin > self.smax:
                raise Infeasible
        return self

    def __str__(self) -> str:
        if self.is_const():
            v = self.var.value
            return str(to_signed(v, 64)) if v >> 63 else str(v)
        parts = []
        if self.smin != S64_MIN:
            parts.append(f"smin={self.smin}")
        if self.smax != S64_MAX:
            parts.append(f"smax={self.smax}")
        if self.umin:
            parts.append(f"umin={self.umin}")
        if self.umax != U64:
            parts.append(f"umax={self.umax}")
        if self.var.mask != U64:
            parts.append(f"var_off={self.var}")
        return ",".join(parts)


# ---- ALU transfer functions over one width -----------------------------------------
def _urange(lo: int, hi: int, bits: int) -> tuple[int, int] | None:
    """[lo, hi] when it fits without wrapping, as unsigned values of the width."""
    if (lo >> bits) == (hi >> bits) and lo <= hi:
        return lo & smask(bits), hi & smask(bits)
    return None


def _srange(lo: int, hi: int, bits: int) -> tuple[int, int] | None:
    slo, shi = srange(bits)
    if slo <= lo <= hi <= shi:
        return lo, hi
    return None


def _view_op(op: str, a: View, b: View) -> View:
    bits = a.bits
    nbytes = bits // 8
    out = View.unknown(bits)
    ur = sr = None
    if op == "add":
        out.t = tn.cast(tn.add(a.t, b.t), nbytes)
        ur = _urange(a.umin + b.umin, a.umax + b.umax, bits)
        sr = _srange(a.smin + b.smin, a.smax + b.smax, bits)
    elif op == "sub":
        out.t = tn.cast(tn.sub(a.t, b.t), nbytes)
        lo, hi = a.umin - b.umax, a.umax - b.umin
        ur = _urange(lo + (1 << bits), hi + (1 << bits), bits)
        sr = _srange(a.smin - b.smax, a.smax - b.smin, bits)
    elif op == "mul":
        out.t = tn.cast(tn.mul(a.t, b.t), nbytes)
        if a.umax * b.umax <= smask(bits):
            ur = (a.umin * b.umin, a.umax * b.umax)
        corners = [x * y for x in (a.smin, a.smax) for y in (b.smin, b.smax)]
        sr = _srange(min(corners), max(corners), bits)
    elif op == "and":
        out.t = tn.and_(a.t, b.t)
        ur = (out.t.value, min(a.umax, b.umax))
        if a.smin >= 0 or b.smin >= 0:
            sr = (0, min(x.smax for x in (a, b) if x.smin >= 0))
    elif op == "or":
        out.t = tn.or_(a.t, b.t)
        ur = (max(a.umin, b.umin), (out.t.value | out.t.mask) & smask(bits))
        if a.smin >= 0 and b.smin >= 0:
            sr = (0, min((out.t.value | out.t.mask) & smask(bits), srange(bits)[1]))
    elif op == "xor":
        out.t = tn.xor(a.t, b.t)
        ur = (out.t.value, (out.t.value | out.t.mask) & smask(bits))
        if a.smin >= 0 and b.smin >= 0:
            sr = (0, min((out.t.value | out.t.mask) & smask(bits), srange(bits)[1]))
    else:
        raise ValueError(op)
    if ur is not None:
        out.umin, out.umax = ur
    if sr is not None:
        out.smin, out.smax = sr
    return out.tighten()


def _shift(op: str, a: View, k: int) -> View:
    bits = a.bits
    out = View.unknown(bits)
    if op == "lsh":
        out.t = tn.cast(tn.lsh(a.t, k), bits // 8)
        if (a.umax << k) <= smask(bits):
            out.umin, out.umax = a.umin << k, a.umax << k
    elif op == "rsh":
        out.t = tn.rsh(tn.cast(a.t, bits // 8), k)
        out.umin, out.umax = a.umin >> k, a.umax >> k
    else:  # arsh
        out.t = tn.arsh(a.t, k, bits) if bits in (32, 64) else out.t
        out.smin, out.smax = a.smin >> k, a.smax >> k
    return out.tighten()


LOW_BITS_OPS = ("add", "sub", "mul", "and", "or", "xor")


def alu(op: str, a: Scalar, b: Scalar, is64: bool = True) -> Scalar:
    """``a op b`` for op in add sub mul and or xor lsh rsh arsh div mod sdiv smod.

    With ``is64`` False the operation is the 32-bit one (ALU32): the result is
    the zero-extended 32-bit value."""
    bits = 64 if is64 else 32
    if op in ("lsh", "rsh", "arsh"):
        if not b.is_const() or (b.value & U64) >= bits:
            res = View.unknown(bits)
        else:
            res = _shift(op, a.view(bits), b.value)
        return _finish(res, is64)
    if op in ("div", "mod", "sdiv", "smod"):
        return _finish(_divmod(op, a.view(bits), b.view(bits)), is64)
    if is64:
        v64 = _view_op(op, a.view(64), b.view(64))
        v32 = _view_op(op, a.view(32), b.view(32)) if op in LOW_BITS_OPS else View.unknown(32)
        return Scalar.from_views(v64, v32)
    return _finish(_view_op(op, a.view(32), b.view(32)), False)


def _finish(v: View, is64: bool) -> Scalar:
    if is64:
        return Scalar.from_views(v, View.unknown(32))
    return zext32(v)


def zext32(v: View) -> Scalar:
    """A 64-bit scalar from a 32-bit result (upper half zero)."""
    s = Scalar(tn.cast(v.t, 4), 0, v.umax, v.umin, v.umax, v.smin, v.smax, v.umin, v.umax)
    return s.sync()


def _divmod(op: str, a: View, b: View) -> View:
    bits = a.bits
    out = View.unknown(bits)
    if a.is_const() and b.is_const():
        x, y = a.t.value, b.t.value
        if op in ("div", "mod"):
            r = (x // y if op == "div" else x % y) if y else (0 if op == "div" else x)
        else:
            sx, sy = to_signed(x, bits), to_signed(y, bits)
            if sy == 0:
                r = 0 if op == "sdiv" else x
            elif sy == -1:
                r = (-sx if op == "sdiv" else 0)
            else:
                q = abs(sx) // abs(sy) * (1 if (sx < 0) == (sy < 0) else -1)
                r = q if op == "sdiv" else sx - q * sy
        return View.const(r, bits)
    if op == "div" and b.is_const():
        y = b.t.value
        if y == 0:
            return View.const(0, bits)
        out.umin, out.umax = a.umin // y, a.umax // y
    elif op == "mod" and b.is_const():
        y = b.t.value
        if y == 0:
            return a
        if a.umax < y:
            return a
        out.umin, out.umax = 0, y - 1
    elif op == "div":
        out.umax = a.umax  # x / y <= x (and 0 when y == 0)
    elif op == "mod":
        out.umax = a.umax if b.umin == 0 else min(a.umax, b.umax - 1)
    return out.tighten()


def neg(a: Scalar, is64: bool = True) -> Scalar:
    return alu("sub", Scalar.const(0), a, is64)


def sign_extend(a: Scalar, from_bits: int, is64: bool = True) -> Scalar:
    """movsx: sign-extend the low ``from_bits`` bits (to 64, or to 32 then zext)."""
    lo, hi = srange(from_bits)
    v = a.view(64)
    if a.is_const():
        val = to_signed(a.value, from_bits)
        return Scalar.const(val) if is64 else Scalar.const(val & U32)
    if (v.umax <= hi) and (from_bits < 64):  # small nonnegative: unchanged
        res = View(64, tn.cast(v.t, 8), v.umin, v.umax, v.umin, v.umax)
    else:
        res = View.unknown(64)
        res.smin, res.smax = lo, hi
    out = Scalar.from_views(res.tighten(), View.unknown(32))
    if is64:
        return out
    return zext32(out.view(32))


def bswap(a: Scalar, width: int, swap: bool) -> Scalar:
    """BPF_END: truncate to ``width`` bits, byte-swapped when ``swap``."""
    if a.is_const():
        v = a.value & smask(width)
        if swap:
            v = int.from_bytes(v.to_bytes(width // 8, "little"), "big")
        return Scalar.const(v)
    if not swap:
        return a.copy() if width == 64 else Scalar(tn.cast(a.var, width // 8)).sync()
    return Scalar.urange(0, smask(width))


# ---- branch refinement ------------------------------------------------------------
#: jump op name -> (relation, swap operands)
RELATIONS = {
    "jeq": "eq", "jne": "ne", "jset": "set",
    "jgt": "ugt", "jge": "uge", "jlt": "ult", "jle": "ule",
    "jsgt": "sgt", "jsge": "sge", "jslt": "slt", "jsle": "sle",
}
NEGATE = {"eq": "ne", "ne": "eq", "set": "nset", "nset": "set",
          "ugt": "ule", "uge": "ult", "ult": "uge", "ule": "ugt",
          "sgt": "sle", "sge": "slt", "slt": "sge", "sle": "sgt"}


def holds(rel: str, x: int, y: int, bits: int) -> bool:
    """The concrete relation on ``bits``-wide values (for tests and constants)."""
    m = smask(bits)
    x, y = x & m, y & m
    sx, sy = to_signed(x, bits), to_signed(y, bits)
    return {
        "eq": x == y, "ne": x != y, "set": bool(x & y), "nset": not (x & y),
        "ugt": x > y, "uge": x >= y, "ult": x < y, "ule": x <= y,
        "sgt": sx > sy, "sge": sx >= sy, "slt": sx < sy, "sle": sx <= sy,
    }[rel]


#: the less-than relations: (View field of the lower end, of the upper end, 1 if strict)
_BELOW = {"ult": ("umin", "umax", 1), "ule": ("umin", "umax", 0),
          "slt": ("smin", "smax", 1), "sle": ("smin", "smax", 0)}


def _refine_view(rel: str, a: View, b: View) -> tuple[View, View]:
    """Views of a and b restricted to the pairs where ``a rel b`` (may raise Infeasible)."""
    bits = a.bits
    a = View(bits, a.t, a.smin, a.smax, a.umin, a.umax)
    b = View(bits, b.t, b.smin, b.smax, b.umin, b.umax)
    if rel in ("ugt", "uge", "sgt", "sge"):
        flip = {"ugt": "ult", "uge": "ule", "sgt": "slt", "sge": "sle"}[rel]
        b2, a2 = _refine_view(flip, b, a)
        return a2, b2
    if rel == "eq":
        if (a.t.value ^ b.t.value) & ~(a.t.mask | b.t.mask) & smask(bits):
            raise Infeasible
        t = tn.intersect(a.t, b.t)
        lo_u, hi_u = max(a.umin, b.umin), min(a.umax, b.umax)
        lo_s, hi_s = max(a.smin, b.smin), min(a.smax, b.smax)
        a = View(bits, t, lo_s, hi_s, lo_u, hi_u)
        b = View(bits, t, lo_s, hi_s, lo_u, hi_u)
    elif rel == "ne":
        if a.is_const() and b.is_const() and a.t.value == b.t.value:
            raise Infeasible
        for x, y in ((a, b), (b, a)):
            if y.is_const():
                c = y.t.value
                sc = to_signed(c, bits)
                if x.umin == c:
                    x.umin += 1
                if x.umax == c:
                    x.umax -= 1
                if x.smin == sc:
                    x.smin += 1
                if x.smax == sc:
                    x.smax -= 1
    elif rel in _BELOW:  # a's upper end below b's, b's lower end above a's
        lo, hi, strict = _BELOW[rel]
        setattr(a, hi, min(getattr(a, hi), getattr(b, hi) - strict))
        setattr(b, lo, max(getattr(b, lo), getattr(a, lo) + strict))
    elif rel == "set":
        if not ((a.t.value | a.t.mask) & (b.t.value | b.t.mask)):
            raise Infeasible
        if b.is_const() and b.t.value & (b.t.value - 1) == 0:  # one bit: it is set in a
            if not a.t.mask & b.t.value and not a.t.value & b.t.value:
                raise Infeasible
            a.t = Tnum(a.t.value | b.t.value, a.t.mask & ~b.t.value)
    elif rel == "nset":
        if a.t.value & b.t.value:
            raise Infeasible
        if b.is_const():
            a.t = Tnum(a.t.value, a.t.mask & ~b.t.value)
        if a.is_const():
            b.t = Tnum(b.t.value, b.t.mask & ~a.t.value)
    else:
        raise ValueError(rel)
    return a.tighten(), b.tighten()


def refine(rel: str, a: Scalar, b: Scalar, is64: bool = True) -> tuple[Scalar, Scalar]:
    """``(a', b')`` restricted to values where ``a rel b`` holds on the jump's width.

    Raises :class:`Infeasible` when no pair of values satisfies it."""
    bits = 64 if is64 else 32
    va, vb = _refine_view(rel, a.view(bits), b.view(bits))
    a2, b2 = a.copy(), b.copy()
    a2.set_view(va)
    b2.set_view(vb)
    return a2.sync(), b2.sync()


def branch_outcome(rel: str, a: Scalar, b: Scalar, is64: bool = True) -> bool | None:
    """True/False when the condition is decided for every value, else None."""
    try:
        refine(rel, a, b, is64)
    except Infeasible:
        return False
    try:
        refine(NEGATE[rel], a, b, is64)
    except Infeasible:
        return True
    return None
