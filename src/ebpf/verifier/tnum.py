"""Tristate numbers: the known-bits domain of a 64-bit scalar.

A :class:`Tnum` ``(value, mask)`` stands for every integer ``x`` with
``x & ~mask == value``: bits set in ``mask`` are unknown, the others equal the
bits of ``value`` (and ``value & mask == 0``). The transfer functions are the
classic ones (Vishwanathan et al., "Sound, precise, and fast abstract
interpretation with tristate numbers", CGO 2022); tests/verifier proves each
sound with z3 over 64-bit bitvectors.

Every function is written with ``+ - & | ^ ~ <<`` and :func:`lshr` only, so the
same code runs on Python ints and on z3 bitvectors (the proofs feed it symbols).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .._internal.ints import s64

U64 = (1 << 64) - 1
U32 = (1 << 32) - 1


def lshr(x: Any, n: int) -> Any:
    """Logical right shift of a 64-bit value (ints and z3 bitvectors)."""
    if isinstance(x, int):
        return x >> n
    import z3

    return z3.LShR(x, n)


def ashr64(x: Any, n: int) -> Any:
    """Arithmetic right shift of a 64-bit value (ints and z3 bitvectors)."""
    if isinstance(x, int):
        if x & (1 << 63):
            x -= 1 << 64
        return (x >> n) & U64
    return x >> n


class Tnum(NamedTuple):
    value: Any
    mask: Any

    # ---- constructors -----------------------------------------------------
    @staticmethod
    def const(v: int) -> Tnum:
        return Tnum(v & U64, 0)

    @staticmethod
    def unknown() -> Tnum:
        return Tnum(0, U64)

    @staticmethod
    def range(lo: int, hi: int) -> Tnum:
        """The smallest tnum holding every value of the unsigned range [lo, hi]."""
        chi = lo ^ hi
        if chi == 0:
            return Tnum.const(lo)
        bits = chi.bit_length()
        if bits > 63:
            return Tnum.unknown()
        delta = (1 << bits) - 1
        return Tnum(lo & ~delta & U64, delta)

    # ---- queries ------------------------------------------------------------
    @property
    def is_const(self) -> bool:
        return self.mask == 0

    def contains(self, x: int) -> bool:
        return (x & ~self.mask & U64) == self.value

    def is_subset_of(self, other: Tnum) -> bool:
        """Every value of self is a value of other."""
        if self.mask & ~other.mask & U64:
            return False
        return (self.value & ~other.mask & U64) == other.value

    @property
    def umin(self) -> int:
        return self.value

    @property
    def umax(self) -> int:
        return (self.value | self.mask) & U64

    def smin(self) -> int:
        """Smallest signed value (sign bit set when it may be)."""
        return s64(self.value | (self.mask & (1 << 63)))

    def smax(self) -> int:
        return s64((self.value | self.mask) & ~(self.mask & (1 << 63)))

    def is_aligned(self, size: int) -> bool:
        return not ((self.value | self.mask) & (size - 1))

    def __str__(self) -> str:
        if self.mask == 0:
            return hex(self.value)
        return f"({self.value:#x}; {self.mask:#x})"


# ---- arithmetic (sound for any operand values) ------------------------------------
def add(a: Tnum, b: Tnum) -> Tnum:
    sm = (a.mask + b.mask) & U64
    sv = (a.value + b.value) & U64
    sigma = (sm + sv) & U64
    chi = sigma ^ sv
    mu = chi | a.mask | b.mask
    return Tnum(sv & ~mu & U64, mu & U64)


def sub(a: Tnum, b: Tnum) -> Tnum:
    dv = (a.value - b.value) & U64
    alpha = (dv + a.mask) & U64
    beta = (dv - b.mask) & U64
    chi = alpha ^ beta
    mu = chi | a.mask | b.mask
    return Tnum(dv & ~mu & U64, mu & U64)


def and_(a: Tnum, b: Tnum) -> Tnum:
    alpha = a.value | a.mask
    beta = b.value | b.mask
    v = a.value & b.value
    return Tnum(v, alpha & beta & ~v & U64)


def or_(a: Tnum, b: Tnum) -> Tnum:
    v = a.value | b.value
    mu = a.mask | b.mask
    return Tnum(v, mu & ~v & U64)


def xor(a: Tnum, b: Tnum) -> Tnum:
    v = a.value ^ b.value
    mu = a.mask | b.mask
    return Tnum(v & ~mu & U64, mu)


def lsh(a: Tnum, n: int) -> Tnum:
    return Tnum((a.value << n) & U64, (a.mask << n) & U64)


def rsh(a: Tnum, n: int) -> Tnum:
    return Tnum(lshr(a.value, n), lshr(a.mask, n))


def arsh(a: Tnum, n: int, bits: int = 64) -> Tnum:
    """Arithmetic shift right of the low ``bits`` bits (64 or 32)."""
    if bits == 32:
        v = sext32(a.value)
        m = sext32(a.mask)
        return Tnum(lshr(ashr64(v, n), 0) & U32, ashr64(m, n) & U32)
    return Tnum(ashr64(a.value, n), ashr64(a.mask, n))


def sext32(x: Any) -> Any:
    """Sign-extend the low 32 bits to 64."""
    x = x & U32
    return ((x ^ 0x8000_0000) - 0x8000_0000) & U64


def mul(a: Tnum, b: Tnum) -> Tnum:
    """Multiplication (the shift-and-add form of the CGO paper's tnum_mul).
    Ints only: the z3 proofs check it on sampled operands."""
    acc_v = (a.value * b.value) & U64
    acc_m = Tnum(0, 0)
    av, am, bv, bm = a.value, a.mask, b.value, b.mask
    while av or am:
        if av & 1:
            acc_m = add(acc_m, Tnum(0, bm))
        elif am & 1:
            acc_m = add(acc_m, Tnum(0, (bv | bm) & U64))
        av >>= 1
        am >>= 1
        bv = (bv << 1) & U64
        bm = (bm << 1) & U64
    return add(Tnum(acc_v, 0), acc_m)


def intersect(a: Tnum, b: Tnum) -> Tnum:
    """Values in both (when they share one; callers check compatibility)."""
    v = a.value | b.value
    mu = a.mask & b.mask
    return Tnum(v & ~mu & U64, mu)


def union(a: Tnum, b: Tnum) -> Tnum:
    """The smallest tnum holding both (a join)."""
    mu = a.mask | b.mask | (a.value ^ b.value)
    return Tnum(a.value & ~mu & U64, mu & U64)


def cast(a: Tnum, size: int) -> Tnum:
    """Truncate to ``size`` bytes (zero extension)."""
    m = (1 << (size * 8)) - 1
    return Tnum(a.value & m, a.mask & m)


def subreg(a: Tnum) -> Tnum:
    return cast(a, 4)


def with_subreg(a: Tnum, sub32: Tnum) -> Tnum:
    """``a`` with its low 32 bits replaced by ``sub32``'s."""
    hi = Tnum(a.value & ~U32 & U64, a.mask & ~U32 & U64)
    return or_(hi, cast(sub32, 4))


def neg(a: Tnum) -> Tnum:
    return sub(Tnum(0, 0), a)
