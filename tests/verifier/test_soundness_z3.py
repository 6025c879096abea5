"""Soundness of the scalar domain, proven with z3 over 64-bit bitvectors.

* tnum transfer functions (add, sub, and, or, xor, shifts by each constant
  class): proven for ALL operand tnums and values (fully symbolic).
* tnum multiplication and the composed scalar domain (tnum × s64/u64/s32/u32
  intervals) for every ALU op in 64 and 32 bits, and every jump condition's
  refinement in JMP and JMP32: proven for every concrete value of sampled
  abstract operands (the abstract values are concrete samples, the values they
  stand for are symbolic: z3 searches the whole 2^64 × 2^64 space for a
  counterexample). The samples hit the boundaries: sign bits, 32-bit edges,
  wrapping ranges, constants, unknowns.
"""

from __future__ import annotations

import random

import pytest

z3 = pytest.importorskip("z3")

from ebpf.verifier import scalar as sc  # noqa: E402
from ebpf.verifier import tnum as tn  # noqa: E402
from ebpf.verifier.scalar import Infeasible, Scalar  # noqa: E402
from ebpf.verifier.tnum import U64, Tnum  # noqa: E402

BV = 64


def _prove(claim) -> None:
    s = z3.Solver()
    s.set("timeout", 60_000)
    s.add(z3.Not(claim))
    r = s.check()
    assert r == z3.unsat, f"counterexample: {s.model() if r == z3.sat else r}"


def _sym_tnum(name: str):
    v, m = z3.BitVecs(f"{name}v {name}m", BV)
    return Tnum(v, m), z3.And(v & m == 0)


def _member(t: Tnum, x):
    return x & ~t.mask == t.value


TNUM_BINOPS = {
    "add": (tn.add, lambda x, y: x + y),
    "sub": (tn.sub, lambda x, y: x - y),
    "and": (tn.and_, lambda x, y: x & y),
    "or": (tn.or_, lambda x, y: x | y),
    "xor": (tn.xor, lambda x, y: x ^ y),
}


@pytest.mark.parametrize("op", sorted(TNUM_BINOPS))
def test_tnum_binop_sound_for_all_inputs(op):
    f, conc = TNUM_BINOPS[op]
    a, wa = _sym_tnum("a")
    b, wb = _sym_tnum("b")
    x, y = z3.BitVecs("x y", BV)
    r = f(a, b)
    _prove(z3.Implies(z3.And(wa, wb, _member(a, x), _member(b, y)), _member(r, conc(x, y))))


@pytest.mark.parametrize("k", [0, 1, 5, 31, 32, 33, 63])
@pytest.mark.parametrize("op", ["lsh", "rsh", "arsh"])
def test_tnum_shift_sound_for_all_inputs(op, k):
    a, wa = _sym_tnum("a")
    x = z3.BitVec("x", BV)
    if op == "lsh":
        r, c = tn.lsh(a, k), x << k
    elif op == "rsh":
        r, c = tn.rsh(a, k), z3.LShR(x, k)
    else:
        r, c = tn.arsh(a, k), x >> k
    _prove(z3.Implies(z3.And(wa, _member(a, x)), _member(r, c)))


@pytest.mark.parametrize("k", [0, 1, 7, 31])
def test_tnum_arsh32_sound_for_all_inputs(k):
    a, wa = _sym_tnum("a")
    x = z3.BitVec("x", BV)
    r = tn.arsh(tn.cast(a, 4), k, 32)
    low = z3.Extract(31, 0, x)
    c = z3.ZeroExt(32, low >> k)
    _prove(z3.Implies(z3.And(wa, _member(tn.cast(a, 4), x & 0xFFFFFFFF)), _member(r, c)))


def test_tnum_union_and_intersect_sound():
    a, wa = _sym_tnum("a")
    b, wb = _sym_tnum("b")
    x = z3.BitVec("x", BV)
    u = tn.union(a, b)
    _prove(z3.Implies(z3.And(wa, wb, z3.Or(_member(a, x), _member(b, x))), _member(u, x)))
    i = tn.intersect(a, b)
    _prove(z3.Implies(z3.And(wa, wb, _member(a, x), _member(b, x)), _member(i, x)))


# ---- sampled abstract values, symbolic concrete values -----------------------------------
def _abstract(vals: list[int]) -> Scalar:
    s = Scalar.const(vals[0])
    for v in vals[1:]:
        c = Scalar.const(v)
        s = Scalar(tn.union(s.var, c.var), min(s.smin, c.smin), max(s.smax, c.smax),
                   min(s.umin, c.umin), max(s.umax, c.umax), min(s.s32min, c.s32min),
                   max(s.s32max, c.s32max), min(s.u32min, c.u32min),
                   max(s.u32max, c.u32max)).sync()
    return s


EDGES = [0, 1, 2, 7, 255, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 1 << 32, (1 << 63) - 1,
         1 << 63, U64, U64 - 1]


def _samples(n: int, seed: int) -> list[Scalar]:
    rnd = random.Random(seed)
    out = [Scalar.unknown(), Scalar.const(0), Scalar.const(U64), Scalar.urange(0, 255),
           Scalar.urange(1 << 63, U64), Scalar.urange(0xFFFF_FFF0, 0x1_0000_0010)]
    while len(out) < n:
        base = rnd.choice(EDGES + [rnd.getrandbits(64)])
        k = rnd.choice([1, 2, 3, 4])
        step = rnd.choice([1, 3, 256, 1 << 32, 1 << 62])
        vals = [(base + rnd.randint(-4, 4) * step) & U64 for _ in range(k)]
        out.append(_abstract(vals))
    return out


def _gamma(s: Scalar, x):
    lo = z3.Extract(31, 0, x)
    return z3.And(
        _member(s.var, x),
        z3.ULE(s.umin, x), z3.ULE(x, s.umax), x >= s.smin, x <= s.smax,
        z3.ULE(s.u32min, lo), z3.ULE(lo, s.u32max), lo >= s.s32min, lo <= s.s32max,
    )


def _concrete(op: str, x, y, is64: bool):
    if not is64:
        x32, y32 = z3.Extract(31, 0, x), z3.Extract(31, 0, y)
        return z3.ZeroExt(32, _concrete_w(op, x32, y32, 32))
    return _concrete_w(op, x, y, 64)


def _concrete_w(op, x, y, bits):
    zero = z3.BitVecVal(0, bits)
    return {
        "add": lambda: x + y, "sub": lambda: x - y, "mul": lambda: x * y,
        "and": lambda: x & y, "or": lambda: x | y, "xor": lambda: x ^ y,
        "div": lambda: z3.If(y == zero, zero, z3.UDiv(x, y)),
        "mod": lambda: z3.If(y == zero, x, z3.URem(x, y)),
        "lsh": lambda: x << y, "rsh": lambda: z3.LShR(x, y), "arsh": lambda: x >> y,
    }[op]()


ALU_OPS = ["add", "sub", "mul", "and", "or", "xor", "div", "mod"]
SAMPLES = _samples(14, 1)


@pytest.mark.parametrize("is64", [True, False], ids=["alu64", "alu32"])
@pytest.mark.parametrize("op", ALU_OPS)
def test_scalar_alu_sound(op, is64):
    x, y = z3.BitVecs("x y", BV)
    rnd = random.Random(hash((op, is64)) & 0xFFFF)
    pairs = [(a, b) for a in SAMPLES for b in SAMPLES]
    rnd.shuffle(pairs)
    for a, b in pairs[:14]:
        r = sc.alu(op, a, b, is64)
        _prove(z3.Implies(z3.And(_gamma(a, x), _gamma(b, y)), _gamma(r, _concrete(op, x, y, is64))))


@pytest.mark.parametrize("is64", [True, False], ids=["alu64", "alu32"])
@pytest.mark.parametrize("op", ["lsh", "rsh", "arsh"])
def test_scalar_shift_sound(op, is64):
    x = z3.BitVec("x", BV)
    bits = 64 if is64 else 32
    for a in SAMPLES:
        for k in (0, 1, 8, bits - 1):
            r = sc.alu(op, a, Scalar.const(k), is64)
            _prove(z3.Implies(_gamma(a, x), _gamma(r, _concrete(op, x, z3.BitVecVal(k, BV), is64))))


def _rel(rel: str, x, y, is64: bool):
    if not is64:
        x, y = z3.Extract(31, 0, x), z3.Extract(31, 0, y)
    zero = z3.BitVecVal(0, x.size())
    return {
        "eq": x == y, "ne": x != y, "set": (x & y) != zero, "nset": (x & y) == zero,
        "ugt": z3.UGT(x, y), "uge": z3.UGE(x, y), "ult": z3.ULT(x, y), "ule": z3.ULE(x, y),
        "sgt": x > y, "sge": x >= y, "slt": x < y, "sle": x <= y,
    }[rel]


@pytest.mark.parametrize("is64", [True, False], ids=["jmp", "jmp32"])
@pytest.mark.parametrize("rel", ["eq", "ne", "set", "nset", "ugt", "uge", "ult", "ule",
                                 "sgt", "sge", "slt", "sle"])
def test_branch_refinement_sound(rel, is64):
    """Every pair of values satisfying the condition survives the refinement
    (and a branch called infeasible has no such pair)."""
    x, y = z3.BitVecs("x y", BV)
    rnd = random.Random(hash((rel, is64)) & 0xFFFF)
    pairs = [(a, b) for a in SAMPLES for b in SAMPLES]
    rnd.shuffle(pairs)
    for a, b in pairs[:18]:
        pre = z3.And(_gamma(a, x), _gamma(b, y), _rel(rel, x, y, is64))
        try:
            a2, b2 = sc.refine(rel, a, b, is64)
        except Infeasible:
            _prove(z3.Not(pre))
            continue
        _prove(z3.Implies(pre, z3.And(_gamma(a2, x), _gamma(b2, y))))


def test_tnum_mul_sound_on_samples():
    x, y = z3.BitVecs("x y", BV)
    rnd = random.Random(7)
    for _ in range(6):
        a = Tnum.range(0, rnd.choice([3, 15, 255]))
        b = Tnum(rnd.getrandbits(8) & ~0x5 & 0xFF, 0x5)
        r = tn.mul(a, b)
        _prove(z3.Implies(z3.And(_member(a, x), _member(b, y)), _member(r, x * y)))
