"""The emitter every part of the IR generator builds on: SSA names, blocks,
registers, the trampoline, budget and unwinding conventions.

A BPF function is ``{i64, i64, i1} @f<slot>(ptr %st, i64 r1..r5, i64 %depth,
i64 %n)``: it returns r0, the instruction budget left, and whether the run is
unwinding (a Python exception is pending; every frame returns at once).
"""

from __future__ import annotations

from typing import Any

from ..._internal.ints import sext as signed
from . import layout as L

#: what a BPF function returns: r0, the budget left, and whether to unwind
RET = "{i64, i64, i1}"
#: pseudo registers holding a helper's key and value pointers (their own region caches)
KEY_REG = 11
VALUE_REG = 12
#: their allocas
PSEUDO = {KEY_REG: "%kreg", VALUE_REG: "%vreg"}


class Emitter:
    """Text of one LLVM function under construction."""

    code: Any
    entry: int

    def __init__(self) -> None:
        self.out: list[str] = []
        self.n = 0
        self.cur = "entry"
        #: region caches ("r4_3": reads of 4 bytes through r3...) some access uses
        self.cached: set[str] = set()

    def tmp(self) -> str:
        self.n += 1
        return f"%t{self.n}"

    def let(self, instruction: str) -> str:
        """Emit ``%tN = instruction`` (a fresh name); returns the name."""
        t = self.tmp()
        self.e(f"{t} = {instruction}")
        return t

    def label(self, stem: str) -> str:
        self.n += 1
        return f"{stem}{self.n}"

    def e(self, line: str) -> None:
        self.out.append("  " + line)

    def block(self, name: str) -> None:
        self.out.append(f"{name}:")
        self.cur = name

    def go_on_if(self, cond: str, otherwise: str, stem: str) -> None:
        """Branch on i1 ``cond``: when it holds, to a new block (named after
        ``stem``) where emission goes on; else to ``otherwise``."""
        go = self.label(stem)
        self.e(f"br i1 {cond}, label %{go}, label %{otherwise}")
        self.block(go)

    def go_on_unless(self, cond: str, away: str, stem: str) -> None:
        """Branch on i1 ``cond``: when it holds, to ``away``; else to a new
        block (named after ``stem``) where emission goes on."""
        go = self.label(stem)
        self.e(f"br i1 {cond}, label %{away}, label %{go}")
        self.block(go)

    def join(self, value: str, other: str, other_value: str, stem: str) -> str:
        """End this block and block ``other`` (not yet emitted) in a new block
        (named after ``stem``); returns the phi of ``value`` (from here) and
        ``other_value`` (from ``other``)."""
        here = self.cur
        out = self.label(stem)
        self.e(f"br label %{out}")
        self.block(other)
        self.e(f"br label %{out}")
        self.block(out)
        return self.let(f"phi i64 [{value}, %{here}], [{other_value}, %{other}]")

    def reg(self, r: int) -> str:
        if r == 10:
            return "%fp"
        if r in PSEUDO:
            return self.let(f"load i64, ptr {PSEUDO[r]}")
        return self.let(f"load i64, ptr %r{r}")

    def setreg(self, r: int, value: str) -> None:
        self.e(f"store i64 {value}, ptr %r{r}")

    def word(self, index: int) -> str:
        return self.let(f"getelementptr i64, ptr %st, i64 {index}")

    def tramp(self, opcode: int, pc: int, aux: str = "0", args: tuple[str, ...] = ()) -> str:
        """Call the Python trampoline; returns its i64 result."""
        a = list(args) + ["0"] * (5 - len(args))
        tp = self.let("load i64, ptr %trp")
        fn = self.let(f"inttoptr i64 {tp} to ptr")
        return self.let(f"call i64 {fn}(ptr %st, i64 {signed(opcode, 64)}, i64 {pc}, i64 %depth, "
                        f"i64 {aux}, " + ", ".join(f"i64 {x}" for x in a) + ")")

    def python_helper(self, hid: int, pc: int, args: list[str]) -> str:
        """Helper ``hid`` called through the Python trampoline; its i64 result."""
        r = self.tramp(hid, pc, "0", tuple(args))
        self.check_status(allow_return=True)
        return r

    def join_with_python(self, hid: int, pc: int, args: list[str], generic: str, done: str,
                         phis: list[tuple[str, str]]) -> str:
        """Emit block ``generic`` (helper ``hid`` through Python, for what generated
        code does not handle) and join every path's result in block ``done``."""
        self.block(generic)
        phis.append((self.python_helper(hid, pc, args), self.cur))
        self.e(f"br label %{done}")
        self.block(done)
        return self.let("phi i64 " + ", ".join(f"[{v}, %{b}]" for v, b in phis))

    def check_status(self, allow_return: bool = False) -> None:
        """After a call into Python or another function: leave if unwinding."""
        s = self.let("load i64, ptr %stp")
        bad = self.let(f"icmp ne i64 {s}, 0")
        ok = self.label("ok")
        if allow_return:
            self.go_on_if(bad, ok, "st")
            is_ret = self.let(f"icmp eq i64 {s}, {L.STATUS_RETURN}")
            fr = self.label("fr")
            self.e(f"br i1 {is_ret}, label %{fr}, label %bail")
            self.block(fr)
            self.e("store i64 0, ptr %stp")
            rv = self.let("load i64, ptr %rvp")
            nv = self.let("load i64, ptr %bgp")
            self.ret(rv, nv)
        else:
            self.e(f"br i1 {bad}, label %bail, label %{ok}")
        self.block(ok)

    def fault(self, kind: int, pc: int) -> None:
        """Raise a fault found by generated code (the block ends)."""
        self.tramp(L.OP_FAULT, pc, str(kind))
        self.e("br label %bail")

    def reset_caches(self) -> None:
        # every cache is reset (the list is known once the function is emitted)
        self.out.append("  ;RESET")

    def save_gen(self) -> None:
        g = self.let("load i64, ptr %genp")
        self.e(f"store i64 {g}, ptr %gen")

    def caches_after_call(self) -> None:
        """Drop the region caches if Python rebuilt the region tables."""
        g = self.let("load i64, ptr %genp")
        old = self.let("load i64, ptr %gen")
        same = self.let(f"icmp eq i64 {g}, {old}")
        rs, ok = self.label("rs"), self.label("ok")
        self.e(f"br i1 {same}, label %{ok}, label %{rs}, !prof !0")
        self.block(rs)
        self.e(f"store i64 {g}, ptr %gen")
        self.reset_caches()
        self.e(f"br label %{ok}")
        self.block(ok)

    def charge(self, cnt: int) -> None:
        if cnt:
            v = self.let("load i64, ptr %n")
            w = self.let(f"sub i64 {v}, {cnt}")
            self.e(f"store i64 {w}, ptr %n")

    def check_budget(self, pc: int) -> None:
        v = self.let("load i64, ptr %n")
        neg = self.let(f"icmp slt i64 {v}, 0")
        bad, ok = self.label("bud"), self.label("ok")
        self.e(f"br i1 {neg}, label %{bad}, label %{ok}")
        self.block(bad)
        self.fault(L.FAULT_BUDGET, pc)
        self.block(ok)

    def budget(self) -> str:
        return self.let("load i64, ptr %n")

    def ret(self, r0: str, n: str) -> None:
        """Return r0 and the budget left (no unwinding)."""
        a, b = self.tmp(), self.tmp()
        self.e(f"{a} = insertvalue {RET} {{i64 0, i64 0, i1 false}}, i64 {r0}, 0")
        self.e(f"{b} = insertvalue {RET} {a}, i64 {n}, 1")
        self.e(f"ret {RET} {b}")

    def call_function(self, target: int, args: list[str]) -> str:
        """Call the BPF function at ``target`` (the budget goes along); leave
        if it unwinds. Returns its r0."""
        d1 = self.let("add i64 %depth, 1")
        n = self.budget()
        res = self.let(f"call {RET} @f{target}(ptr %st, " + ", ".join(f"i64 {a}" for a in args)
                       + f", i64 {d1}, i64 {n})")
        r, n1, u = self.tmp(), self.tmp(), self.tmp()
        self.e(f"{r} = extractvalue {RET} {res}, 0")
        self.e(f"{n1} = extractvalue {RET} {res}, 1")
        self.e(f"{u} = extractvalue {RET} {res}, 2")
        self.e(f"store i64 {n1}, ptr %n")
        ok = self.label("fok")
        self.e(f"br i1 {u}, label %bail, label %{ok}")
        self.block(ok)
        return r

    def save_budget(self) -> None:
        v = self.let("load i64, ptr %n")
        self.e(f"store i64 {v}, ptr %bgp")

    def load_budget(self) -> None:
        v = self.let("load i64, ptr %bgp")
        self.e(f"store i64 {v}, ptr %n")

    def _trunc32(self, v: str) -> str:
        return self.let(f"trunc i64 {v} to i32")

    def _zext(self, v: str) -> str:
        return self.let(f"zext i32 {v} to i64")

    def _zext32(self, v: str) -> str:
        return self.let(f"and i64 {v}, 4294967295")
