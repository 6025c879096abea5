"""eBPF to LLVM IR (text), one LLVM function per BPF function.

Registers live in ``alloca`` slots that LLVM's SROA/mem2reg turn into SSA
values; r10 is the frame's constant stack pointer. Each BPF function is
``i64 @f<slot>(ptr %st, i64 r1..r5, i64 %depth)``: ``%st`` is the run's state
block (:mod:`.layout`). Semantics follow :mod:`ebpf.vm.interpreter` exactly:
32-bit operations zero-extend, shift amounts are masked, ``x / 0 = 0`` and
``x % 0 = x`` (signed too, and ``INT_MIN / -1`` wraps), atomics are LLVM
``atomicrmw``/``cmpxchg``.

Every memory access is checked. Each base register has a one-entry cache of
the last region it pointed into (lo, hi, host delta; one for reads, one for
writes); a miss searches the run's region tables in generated code
(``@rt_find``), and what the tables cannot serve (a fault, a region whose
writes need a per-field check, a probe load of nothing) goes to Python through
the trampoline, which faults exactly as the other executors do.

The instruction budget is charged per block exit and checked on function
entry, backward jumps and calls, as the translator does, so every loop ends.
"""

from __future__ import annotations

import sys
from typing import Any

from ...isa import opcodes as op
from ..code import CODE_BASE, Code
from ..run import MAX_FRAMES, STACK_SIZE
from . import layout as L
from .maps import MIX, ArrayInfo, HashInfo

SIZES = {op.BPF_B: 1, op.BPF_H: 2, op.BPF_W: 4, op.BPF_DW: 8}
#: helpers done in generated code
HELPER_LOOKUP = 1  # bpf_map_lookup_elem (maps that allow it)
HELPER_KTIME = 5  # bpf_ktime_get_ns
HELPER_CPU = 8  # bpf_get_smp_processor_id
#: bpf_ktime_get_ns calls clock_gettime(CLOCK_MONOTONIC) directly on Linux, the
#: clock time.monotonic_ns() reads there
NATIVE_CLOCK = sys.platform.startswith("linux")
CLOCK_MONOTONIC = 1
#: a pseudo register holding a helper's key pointer (its own region cache)
KEY_REG = 11
M64 = (1 << 64) - 1

def _signed(x: int, bits: int) -> int:
    x &= (1 << bits) - 1
    return x - (1 << bits) if x >> (bits - 1) else x


#: the region search every module carries: locals linearly, then a binary
#: search of the sorted globals; returns the entry's address or 0
RUNTIME = f"""
declare i16 @llvm.bswap.i16(i16)
declare i32 @llvm.bswap.i32(i32)
declare i64 @llvm.bswap.i64(i64)

define internal i64 @rt_find(ptr %st, i64 %a, i64 %size, i64 %need) noinline {{
entry:
  %e = add i64 %a, %size
  %nowrap = icmp ugt i64 %e, %a
  br i1 %nowrap, label %lin0, label %none
lin0:
  %ltp = getelementptr i64, ptr %st, i64 {L.LOCAL_TAB}
  %lti = load i64, ptr %ltp
  %lt = inttoptr i64 %lti to ptr
  %lnp = getelementptr i64, ptr %st, i64 {L.LOCAL_N}
  %ln = load i64, ptr %lnp
  br label %lin
lin:
  %i = phi i64 [0, %lin0], [%i1, %lnext]
  %ldone = icmp uge i64 %i, %ln
  br i1 %ldone, label %bs0, label %lbody
lbody:
  %lw = mul i64 %i, {L.ENTRY_WORDS}
  %lent = getelementptr i64, ptr %lt, i64 %lw
  %lb = load i64, ptr %lent
  %lep = getelementptr i64, ptr %lent, i64 1
  %lend = load i64, ptr %lep
  %lc1 = icmp ule i64 %lb, %a
  %lc2 = icmp ule i64 %e, %lend
  %lc = and i1 %lc1, %lc2
  br i1 %lc, label %lfound, label %lnext
lfound:
  %lfp = getelementptr i64, ptr %lent, i64 3
  %lf = load i64, ptr %lfp
  %lok = icmp uge i64 %lf, %need
  br i1 %lok, label %lret, label %none
lret:
  %lr = ptrtoint ptr %lent to i64
  ret i64 %lr
lnext:
  %i1 = add i64 %i, 1
  br label %lin
bs0:
  %gtp = getelementptr i64, ptr %st, i64 {L.GLOBAL_TAB}
  %gti = load i64, ptr %gtp
  %gt = inttoptr i64 %gti to ptr
  %gnp = getelementptr i64, ptr %st, i64 {L.GLOBAL_N}
  %gn = load i64, ptr %gnp
  br label %bs
bs:
  %lo = phi i64 [0, %bs0], [%lo1, %bstep]
  %hi = phi i64 [%gn, %bs0], [%hi1, %bstep]
  %more = icmp ult i64 %lo, %hi
  br i1 %more, label %bbody, label %bend
bbody:
  %sum = add i64 %lo, %hi
  %mid = lshr i64 %sum, 1
  %mw = mul i64 %mid, {L.ENTRY_WORDS}
  %ment = getelementptr i64, ptr %gt, i64 %mw
  %mb = load i64, ptr %ment
  %le = icmp ule i64 %mb, %a
  %mid1 = add i64 %mid, 1
  %lo1 = select i1 %le, i64 %mid1, i64 %lo
  %hi1 = select i1 %le, i64 %hi, i64 %mid
  br label %bstep
bstep:
  br label %bs
bend:
  %any = icmp ugt i64 %lo, 0
  br i1 %any, label %gchk, label %none
gchk:
  %j = sub i64 %lo, 1
  %jw = mul i64 %j, {L.ENTRY_WORDS}
  %gent = getelementptr i64, ptr %gt, i64 %jw
  %gep = getelementptr i64, ptr %gent, i64 1
  %gend = load i64, ptr %gep
  %gc = icmp ule i64 %e, %gend
  %gfp = getelementptr i64, ptr %gent, i64 3
  %gf = load i64, ptr %gfp
  %gok = icmp uge i64 %gf, %need
  %gall = and i1 %gc, %gok
  br i1 %gall, label %gret, label %none
gret:
  %gr = ptrtoint ptr %gent to i64
  ret i64 %gr
none:
  ret i64 0
}}

define internal {{i64, i64, i64, i64}} @rt_access(ptr %st, i64 %a, i64 %size, i64 %kind,
                                                 i64 %pc, i64 %depth) noinline {{
entry:
  %isw = icmp eq i64 %kind, {L.MEM_WRITE}
  %need = zext i1 %isw to i64
  %ent = call i64 @rt_find(ptr %st, i64 %a, i64 %size, i64 %need)
  %found = icmp ne i64 %ent, 0
  br i1 %found, label %hit, label %slow
hit:
  %ep = inttoptr i64 %ent to ptr
  %lo = load i64, ptr %ep
  %hip = getelementptr i64, ptr %ep, i64 1
  %hi = load i64, ptr %hip
  %dp = getelementptr i64, ptr %ep, i64 2
  %d = load i64, ptr %dp
  %h = add i64 %a, %d
  %span = sub i64 %hi, %lo
  %lim0 = sub i64 %span, %size
  %lim = add i64 %lim0, 1
  %r0 = insertvalue {{i64, i64, i64, i64}} undef, i64 %h, 0
  %r1 = insertvalue {{i64, i64, i64, i64}} %r0, i64 %lo, 1
  %r2 = insertvalue {{i64, i64, i64, i64}} %r1, i64 %lim, 2
  %r3 = insertvalue {{i64, i64, i64, i64}} %r2, i64 %d, 3
  ret {{i64, i64, i64, i64}} %r3
slow:
  %tpp = getelementptr i64, ptr %st, i64 {L.TRAMPOLINE}
  %tp = load i64, ptr %tpp
  %fn = inttoptr i64 %tp to ptr
  %hs = call i64 %fn(ptr %st, i64 {_signed(L.OP_MEMORY, 64)}, i64 %pc, i64 %depth, i64 %kind,
                     i64 %a, i64 %size, i64 0, i64 0, i64 0)
  %s0 = insertvalue {{i64, i64, i64, i64}} undef, i64 %hs, 0
  %s1 = insertvalue {{i64, i64, i64, i64}} %s0, i64 0, 1
  %s2 = insertvalue {{i64, i64, i64, i64}} %s1, i64 0, 2
  %s3 = insertvalue {{i64, i64, i64, i64}} %s2, i64 0, 3
  ret {{i64, i64, i64, i64}} %s3
}}
"""


def module_ir(code: Code, probe_loads: bool = False,
              maps: dict[int, ArrayInfo | HashInfo] | None = None) -> str:
    """The LLVM IR module for every BPF function of ``code``; ``maps`` are the
    maps whose lookups generated code does itself (see :mod:`.maps`)."""
    parts = [f"; BPF program {code.name}", RUNTIME]
    if NATIVE_CLOCK:
        parts.append("declare i32 @clock_gettime(i32, ptr)")
    free = python_free(code)
    for entry in code.functions:
        fn = _Function(code, entry, probe_loads, maps)
        fn.python_free = free
        text = fn.emit()
        parts += fn.consts
        parts.append(text)
    parts.append(_entry_points(code))
    parts.append(METADATA)
    return "\n".join(parts)


def entry_points(code: Code) -> set[int]:
    """Functions Python may enter: the program (slot 0, also what a tail call
    enters) and every function whose address the program takes (callbacks
    for bpf_loop & co.); the others exist only inside the module (and usually
    disappear into their callers)."""
    out = {0}
    funcs = set(code.functions)
    for ins in code.slots:
        if ins is not None and ins.opcode == op.LD_IMM64 and ins.imm >= CODE_BASE:
            slot, rem = divmod(ins.imm - CODE_BASE, 8)
            if not rem and slot in funcs:
                out.add(slot)
    return out


def python_free(code: Code) -> set[int]:
    """The functions (entry slots) that never call into Python helpers, even
    through the functions they call: after calling one, region caches stay."""
    calls: dict[int, set[int]] = {}
    python: set[int] = set()
    for entry in code.functions:
        f = _Function(code, entry, False)
        calls[entry] = set()
        for pc in f.body:
            ins = f.slots[pc]
            opc = ins.opcode
            if opc == op.CALLX or (opc & 7) == op.BPF_LD and opc != op.LD_IMM64:
                python.add(entry)
            elif opc == op.CALL and ins.src == op.BPF_PSEUDO_CALL:
                calls[entry].add(pc + 1 + ins.imm)
            elif opc == op.CALL and ins.imm not in (HELPER_CPU, HELPER_KTIME):
                python.add(entry)
    changed = True
    while changed:
        changed = False
        for entry, callees in calls.items():
            if entry not in python and callees & python:
                python.add(entry)
                changed = True
    return set(code.functions) - python


def _entry_points(code: Code) -> str:
    """``@run_loop(st, n)``: call the program ``n`` times with r1 = st[CTX] and
    a fresh budget each time (test_run's repeat, measured natively)."""
    f0 = f"@f{code.functions[0]}"
    return f"""
define i64 @run_loop(ptr %st, i64 %n) {{
entry:
  %ctxp = getelementptr i64, ptr %st, i64 {L.CTX}
  %ctx = load i64, ptr %ctxp
  %bip = getelementptr i64, ptr %st, i64 {L.BUDGET_INIT}
  %binit = load i64, ptr %bip
  %bp = getelementptr i64, ptr %st, i64 {L.BUDGET}
  %sp = getelementptr i64, ptr %st, i64 {L.STATUS}
  %dp = getelementptr i64, ptr %st, i64 {L.DONE}
  br label %loop
loop:
  %i = phi i64 [0, %entry], [%i1, %ok]
  %r = phi i64 [0, %entry], [%r0, %ok]
  %more = icmp ult i64 %i, %n
  br i1 %more, label %body, label %out
body:
  store i64 %binit, ptr %bp
  %r0 = call i64 {f0}(ptr %st, i64 %ctx, i64 0, i64 0, i64 0, i64 0, i64 0)
  %s = load i64, ptr %sp
  %bad = icmp ne i64 %s, 0
  %i1 = add i64 %i, 1
  store i64 %i1, ptr %dp
  br i1 %bad, label %out, label %ok
ok:
  br label %loop
out:
  %rv = phi i64 [%r, %loop], [%r0, %body]
  ret i64 %rv
}}
"""


class _Function:
    """IR for the BPF function starting at ``entry``."""

    def __init__(self, code: Code, entry: int, probe_loads: bool,
                 maps: dict[int, ArrayInfo | HashInfo] | None = None):
        self.maps = maps or {}
        self.consts: list[str] = []
        self.cur = "entry"
        self.code = code
        #: validated slots (prepare() made every reachable one an instruction)
        self.slots: list[Any] = code.slots
        self.entry = entry
        self.probe = probe_loads
        self.body = self._reachable()
        self.leaders = self._leaders()
        self.out: list[str] = []
        self.n = 0
        #: caches ("r3", "w10"...) some access uses
        self.cached: set[str] = set()
        #: functions that never reach Python (set by module_ir)
        self.python_free: set[int] = set()

    # ---- control flow ----------------------------------------------------------
    def _successors(self, pc: int) -> list[int]:
        ins = self.slots[pc]
        cls = ins.opcode & 7
        if cls in (op.BPF_JMP, op.BPF_JMP32):
            jop = ins.opcode & 0xF0
            if jop == op.BPF_EXIT:
                return []
            if jop == op.BPF_CALL:
                return [pc + 1]
            if jop == op.BPF_JA:
                return [ins.jump_target(pc)]
            return [pc + 1, ins.jump_target(pc)]
        return [pc + ins.size]

    def _reachable(self) -> set[int]:
        seen: set[int] = set()
        todo = [self.entry]
        n = len(self.slots)
        while todo:
            pc = todo.pop()
            if pc in seen or not 0 <= pc < n or self.slots[pc] is None:
                continue
            seen.add(pc)
            todo.extend(self._successors(pc))
        return seen

    def _leaders(self) -> set[int]:
        leaders = {self.entry}
        for pc in self.body:
            ins = self.slots[pc]
            cls = ins.opcode & 7
            if cls in (op.BPF_JMP, op.BPF_JMP32) and ins.opcode & 0xF0 not in (op.BPF_CALL,
                                                                                op.BPF_EXIT):
                leaders.add(ins.jump_target(pc))
        return leaders

    # ---- emit helpers ----------------------------------------------------------
    def tmp(self) -> str:
        self.n += 1
        return f"%t{self.n}"

    def label(self, stem: str) -> str:
        self.n += 1
        return f"{stem}{self.n}"

    def e(self, line: str) -> None:
        self.out.append("  " + line)

    def block(self, name: str) -> None:
        self.out.append(f"{name}:")
        self.cur = name

    def reg(self, r: int) -> str:
        if r == 10:
            return "%fp"
        if r == KEY_REG:
            t = self.tmp()
            self.e(f"{t} = load i64, ptr %kreg")
            return t
        t = self.tmp()
        self.e(f"{t} = load i64, ptr %r{r}")
        return t

    def setreg(self, r: int, value: str) -> None:
        self.e(f"store i64 {value}, ptr %r{r}")

    def word(self, index: int) -> str:
        p = self.tmp()
        self.e(f"{p} = getelementptr i64, ptr %st, i64 {index}")
        return p

    def tramp(self, opcode: int, pc: int, aux: str = "0", args: tuple[str, ...] = ()) -> str:
        """Call the Python trampoline; returns its i64 result."""
        a = list(args) + ["0"] * (5 - len(args))
        tp = self.tmp()
        self.e(f"{tp} = load i64, ptr %trp")
        fn = self.tmp()
        self.e(f"{fn} = inttoptr i64 {tp} to ptr")
        r = self.tmp()
        self.e(f"{r} = call i64 {fn}(ptr %st, i64 {_signed(opcode, 64)}, i64 {pc}, i64 %depth, "
               f"i64 {aux}, " + ", ".join(f"i64 {x}" for x in a) + ")")
        return r

    def check_status(self, allow_return: bool = False) -> None:
        """After a call into Python or another function: leave if unwinding."""
        s = self.tmp()
        self.e(f"{s} = load i64, ptr %stp")
        bad = self.tmp()
        self.e(f"{bad} = icmp ne i64 {s}, 0")
        ok = self.label("ok")
        if allow_return:
            ret = self.label("st")
            self.e(f"br i1 {bad}, label %{ret}, label %{ok}")
            self.block(ret)
            is_ret = self.tmp()
            self.e(f"{is_ret} = icmp eq i64 {s}, {L.STATUS_RETURN}")
            fr = self.label("fr")
            self.e(f"br i1 {is_ret}, label %{fr}, label %bail")
            self.block(fr)
            self.e("store i64 0, ptr %stp")
            rv = self.tmp()
            self.e(f"{rv} = load i64, ptr %rvp")
            self.e(f"ret i64 {rv}")
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
        g = self.tmp()
        self.e(f"{g} = load i64, ptr %genp")
        self.e(f"store i64 {g}, ptr %gen")

    def caches_after_call(self) -> None:
        """Drop the region caches if Python rebuilt the region tables."""
        g = self.tmp()
        self.e(f"{g} = load i64, ptr %genp")
        old = self.tmp()
        self.e(f"{old} = load i64, ptr %gen")
        same = self.tmp()
        self.e(f"{same} = icmp eq i64 {g}, {old}")
        rs, ok = self.label("rs"), self.label("ok")
        self.e(f"br i1 {same}, label %{ok}, label %{rs}, !prof !0")
        self.block(rs)
        self.e(f"store i64 {g}, ptr %gen")
        self.reset_caches()
        self.e(f"br label %{ok}")
        self.block(ok)

    # ---- budget ----------------------------------------------------------------
    def charge(self, cnt: int) -> None:
        if cnt:
            v = self.tmp()
            self.e(f"{v} = load i64, ptr %n")
            w = self.tmp()
            self.e(f"{w} = sub i64 {v}, {cnt}")
            self.e(f"store i64 {w}, ptr %n")

    def check_budget(self, pc: int) -> None:
        v = self.tmp()
        self.e(f"{v} = load i64, ptr %n")
        neg = self.tmp()
        self.e(f"{neg} = icmp slt i64 {v}, 0")
        bad, ok = self.label("bud"), self.label("ok")
        self.e(f"br i1 {neg}, label %{bad}, label %{ok}")
        self.block(bad)
        self.fault(L.FAULT_BUDGET, pc)
        self.block(ok)

    def save_budget(self) -> None:
        v = self.tmp()
        self.e(f"{v} = load i64, ptr %n")
        self.e(f"store i64 {v}, ptr %bgp")

    def load_budget(self) -> None:
        v = self.tmp()
        self.e(f"{v} = load i64, ptr %bgp")
        self.e(f"store i64 {v}, ptr %n")

    def goto(self, target: int, here: int, cnt: int) -> None:
        self.charge(cnt)
        if target <= here:
            self.check_budget(here)
        if target in self.body:
            self.e(f"br label %L{target}")
        else:
            self.fault(L.FAULT_OFF_END, target)

    # ---- the function ----------------------------------------------------------
    def emit(self) -> str:
        linkage = "" if self.entry in entry_points(self.code) else "internal "
        head = [f"define {linkage}i64 @f{self.entry}(ptr %st, i64 %a1, i64 %a2, i64 %a3, "
                "i64 %a4, i64 %a5, i64 %depth) {", "entry:"]
        for r in range(10):
            head.append(f"  %r{r} = alloca i64")
        head.append("  %n = alloca i64")
        head.append("  %gen = alloca i64")
        head.append("  %kreg = alloca i64")
        self.e(f"%stp = getelementptr i64, ptr %st, i64 {L.STATUS}")
        self.e(f"%rvp = getelementptr i64, ptr %st, i64 {L.RETVAL}")
        self.e(f"%bgp = getelementptr i64, ptr %st, i64 {L.BUDGET}")
        self.e(f"%trpp = getelementptr i64, ptr %st, i64 {L.TRAMPOLINE}")
        self.e("%trp = bitcast ptr %trpp to ptr")
        self.e(f"%cpup = getelementptr i64, ptr %st, i64 {L.CPU}")
        self.e(f"%genp = getelementptr i64, ptr %st, i64 {L.GEN}")
        self.save_gen()
        for r in (0, 6, 7, 8, 9):
            self.setreg(r, "0")
        for r in range(1, 6):
            self.setreg(r, f"%a{r}")
        self.reset_caches()
        self.out.append("  ;INITD")
        deep = self.tmp()
        self.e(f"{deep} = icmp uge i64 %depth, {MAX_FRAMES}")
        self.e("br i1 " + deep + ", label %deep, label %start")
        self.block("deep")
        self.fault(L.FAULT_DEPTH, self.entry)
        self.block("start")
        se = self.word(L.STACK_END)
        sev = self.tmp()
        self.e(f"{sev} = load i64, ptr {se}")
        fo = self.tmp()
        self.e(f"{fo} = mul i64 %depth, {STACK_SIZE}")
        self.e(f"%fp = sub i64 {sev}, {fo}")
        self.load_budget()
        self.check_budget(self.entry)
        self.e(f"br label %L{self.entry}")
        for leader in sorted(self.leaders):
            if leader in self.body:
                self._block(leader)
        self.block("bail")
        self.e("ret i64 0")
        self.out.append("}")
        caches = sorted(self.cached)
        for c in caches:
            k, reg = c.split("_")
            head += [f"  %{k}lo_{reg} = alloca i64", f"  %{k}lim_{reg} = alloca i64",
                     f"  %{k}d_{reg} = alloca i64"]
        reset = "\n".join(f"  store i64 0, ptr %{c.split('_')[0]}lim_{c.split('_')[1]}"
                          for c in caches)
        initd = "\n".join(f"  store i64 0, ptr %{c.split('_')[0]}{x}_{c.split('_')[1]}"
                          for c in caches for x in ("lo", "d"))
        body = "\n".join(self.out).replace("  ;RESET", reset).replace("  ;INITD", initd)
        return "\n".join(head) + "\n" + body

    def _block(self, leader: int) -> None:
        self.block(f"L{leader}")
        pc = leader
        cnt = 0
        while True:
            if pc not in self.body:
                self.charge(cnt)
                self.fault(L.FAULT_OFF_END, pc)
                return
            ins = self.slots[pc]
            cnt += 1
            opc = ins.opcode
            cls = opc & 7
            if cls in (op.BPF_JMP, op.BPF_JMP32):
                jop = opc & 0xF0
                if jop == op.BPF_EXIT:
                    self.charge(cnt)
                    self.save_budget()
                    r0 = self.reg(0)
                    self.e(f"ret i64 {r0}")
                    return
                if jop == op.BPF_JA:
                    self.goto(ins.jump_target(pc), pc, cnt)
                    return
                if jop == op.BPF_CALL:
                    self.charge(cnt)
                    cnt = 0
                    self.check_budget(pc)
                    self.save_budget()
                    self._call(ins, pc)
                    self.load_budget()
                    if not (ins.src == op.BPF_PSEUDO_CALL and ins.opcode != op.CALLX
                            and pc + 1 + ins.imm in self.python_free) \
                            and not (ins.src == 0 and ins.opcode != op.CALLX
                                     and ins.imm in (HELPER_CPU, HELPER_KTIME)):
                        self.caches_after_call()
                else:
                    c = self._cond(ins)
                    taken, cont = self.label("tk"), self.label("nt")
                    self.e(f"br i1 {c}, label %{taken}, label %{cont}")
                    self.block(taken)
                    self.goto(ins.jump_target(pc), pc, cnt)
                    self.block(cont)
            else:
                self._simple(ins, pc)
            pc += ins.size
            if pc in self.leaders:
                self.goto(pc, pc - 1, cnt)
                return

    # ---- calls -----------------------------------------------------------------
    def _args(self) -> list[str]:
        return [self.reg(r) for r in range(1, 6)]

    def _call(self, ins, pc: int) -> None:
        if ins.opcode == op.CALLX:
            self._callx(ins, pc)
            return
        if ins.src == op.BPF_PSEUDO_CALL:
            target = pc + 1 + ins.imm
            self._record_call(pc)
            args = self._args()
            d1 = self.tmp()
            self.e(f"{d1} = add i64 %depth, 1")
            r = self.tmp()
            self.e(f"{r} = call i64 @f{target}(ptr %st, " + ", ".join(f"i64 {a}" for a in args)
                   + f", i64 {d1})")
            self.check_status()
            self.setreg(0, r)
            return
        hid = ins.imm & 0xFFFF_FFFF
        if hid == HELPER_CPU:
            c = self.tmp()
            self.e(f"{c} = load i64, ptr %cpup")
            self.setreg(0, c)
            return
        if hid == HELPER_KTIME and NATIVE_CLOCK:
            ts = self.tmp()
            self.e(f"{ts} = alloca [2 x i64]")
            rc = self.tmp()
            self.e(f"{rc} = call i32 @clock_gettime(i32 {CLOCK_MONOTONIC}, ptr {ts})")
            sec = self.tmp()
            self.e(f"{sec} = load i64, ptr {ts}")
            np_ = self.tmp()
            self.e(f"{np_} = getelementptr i64, ptr {ts}, i64 1")
            ns = self.tmp()
            self.e(f"{ns} = load i64, ptr {np_}")
            m = self.tmp()
            self.e(f"{m} = mul i64 {sec}, 1000000000")
            t = self.tmp()
            self.e(f"{t} = add i64 {m}, {ns}")
            self.setreg(0, t)
            return
        args = self._args()
        if hid == HELPER_LOOKUP and self.maps:
            self.setreg(0, self._map_lookup(args, pc))
            return
        r = self.tramp(hid, pc, "0", tuple(args))
        self.check_status(allow_return=True)
        self.setreg(0, r)

    def _map_lookup(self, args: list[str], pc: int) -> str:
        """bpf_map_lookup_elem in generated code for the maps that allow it;
        any other map pointer takes the Python helper."""
        done, generic = self.label("lkd"), self.label("lkg")
        cases = [(h, info, self.label("lk")) for h, info in self.maps.items()]
        self.e(f"switch i64 {args[0]}, label %{generic} [" +
               " ".join(f"i64 {_signed(h, 64)}, label %{lab}" for h, _, lab in cases) + "]")
        phis = []
        for _h, info, lab in cases:
            self.block(lab)
            if isinstance(info, ArrayInfo):
                v = self._array_lookup(info, args[1], pc)
            else:
                v = self._hash_lookup(info, args[1], pc)
            phis.append((v, self.cur))
            self.e(f"br label %{done}")
        self.block(generic)
        r = self.tramp(HELPER_LOOKUP, pc, "0", tuple(args))
        self.check_status(allow_return=True)
        phis.append((r, self.cur))
        self.e(f"br label %{done}")
        self.block(done)
        res = self.tmp()
        self.e(f"{res} = phi i64 " + ", ".join(f"[{v}, %{b}]" for v, b in phis))
        return res

    def _key_pointer(self, key: str, size: int, pc: int) -> str:
        """Host pointer to ``size`` key bytes at simulated address ``key``."""
        t = self.tmp()
        self.e(f"store i64 {key}, ptr %kreg")
        p, _ = self._host(KEY_REG, 0, size, L.MEM_READ, pc)
        del t
        return p

    def _array_lookup(self, info: ArrayInfo, key: str, pc: int) -> str:
        p = self._key_pointer(key, 4, pc)
        i32 = self.tmp()
        self.e(f"{i32} = load i32, ptr {p}, align 1")
        i = self.tmp()
        self.e(f"{i} = zext i32 {i32} to i64")
        inb = self.tmp()
        self.e(f"{inb} = icmp ult i64 {i}, {info.max_entries}")
        if len(info.bases) == 1:
            base = str(_signed(info.bases[0], 64))
        else:
            c = self.tmp()
            self.e(f"{c} = load i64, ptr %cpup")
            ci = self.tmp()
            self.e(f"{ci} = urem i64 {c}, {len(info.bases)}")
            bp = self.tmp()
            self.e(f"{bp} = getelementptr [{len(info.bases)} x i64], ptr @{self.const_array(info.bases)}, "
                   f"i64 0, i64 {ci}")
            base = self.tmp()
            self.e(f"{base} = load i64, ptr {bp}")
        off = self.tmp()
        self.e(f"{off} = mul i64 {i}, {info.stride}")
        addr = self.tmp()
        self.e(f"{addr} = add i64 {base}, {off}")
        r = self.tmp()
        self.e(f"{r} = select i1 {inb}, i64 {addr}, i64 0")
        return r

    def _hash_lookup(self, info: HashInfo, key: str, pc: int) -> str:
        ks = info.key_size
        idx = info.index
        p = self._key_pointer(key, ks, pc)
        words = self._key_words(p, ks)
        h = str(ks)
        for w in words:
            x = self.tmp()
            self.e(f"{x} = xor i64 {h}, {w}")
            y = self.tmp()
            self.e(f"{y} = mul i64 {x}, {_signed(MIX, 64)}")
            h = y
        sh = self.tmp()
        self.e(f"{sh} = lshr i64 {h}, 29")
        hx = self.tmp()
        self.e(f"{hx} = xor i64 {h}, {sh}")
        hv = self.tmp()
        self.e(f"{hv} = or i64 {hx}, 2")
        start = self.tmp()
        self.e(f"{start} = and i64 {hv}, {idx.mask}")
        pre = self.cur
        loop, body, cmp, nxt, found, miss, out = (self.label(x) for x in (
            "hl", "hb", "hc", "hn", "hf", "hm", "ho"))
        self.e(f"br label %{loop}")
        self.block(loop)
        i = self.tmp()
        i1 = self.tmp()
        self.e(f"{i} = phi i64 [{start}, %{pre}], [{i1}, %{nxt}]")
        w = self.tmp()
        self.e(f"{w} = mul i64 {i}, {idx.entry_words}")
        ep = self.tmp()
        self.e(f"{ep} = getelementptr i64, ptr inttoptr (i64 {idx.address} to ptr), i64 {w}")
        tag = self.tmp()
        self.e(f"{tag} = load atomic i64, ptr {ep} acquire, align 8")
        empty = self.tmp()
        self.e(f"{empty} = icmp eq i64 {tag}, 0")
        self.e(f"br i1 {empty}, label %{miss}, label %{body}")
        self.block(body)
        same = self.tmp()
        self.e(f"{same} = icmp eq i64 {tag}, {hv}")
        self.e(f"br i1 {same}, label %{cmp}, label %{nxt}")
        self.block(cmp)
        eq = "true"
        for j, kw in enumerate(words):
            kp = self.tmp()
            self.e(f"{kp} = getelementptr i64, ptr {ep}, i64 {2 + j}")
            kv = self.tmp()
            self.e(f"{kv} = load i64, ptr {kp}")
            e = self.tmp()
            self.e(f"{e} = icmp eq i64 {kv}, {kw}")
            e2 = self.tmp()
            self.e(f"{e2} = and i1 {eq}, {e}")
            eq = e2
        self.e(f"br i1 {eq}, label %{found}, label %{nxt}")
        self.block(nxt)
        ii = self.tmp()
        self.e(f"{ii} = add i64 {i}, 1")
        self.e(f"{i1} = and i64 {ii}, {idx.mask}")
        self.e(f"br label %{loop}")
        self.block(found)
        vp = self.tmp()
        self.e(f"{vp} = getelementptr i64, ptr {ep}, i64 1")
        v = self.tmp()
        self.e(f"{v} = load i64, ptr {vp}")
        self.e(f"br label %{out}")
        self.block(miss)
        self.e(f"br label %{out}")
        self.block(out)
        r = self.tmp()
        self.e(f"{r} = phi i64 [{v}, %{found}], [0, %{miss}]")
        return r

    def _key_words(self, p: str, size: int) -> list[str]:
        """The key's 8-byte little-endian words (the last zero-padded)."""
        words = []
        for off in range(0, size, 8):
            n = min(8, size - off)
            parts = []
            o = 0
            while o < n:
                c = 8 if n - o >= 8 else 4 if n - o >= 4 else 2 if n - o >= 2 else 1
                q = self.tmp()
                self.e(f"{q} = getelementptr i8, ptr {p}, i64 {off + o}")
                v = self.tmp()
                self.e(f"{v} = load i{c * 8}, ptr {q}, align 1")
                if c < 8:
                    z = self.tmp()
                    self.e(f"{z} = zext i{c * 8} {v} to i64")
                    v = z
                if o:
                    s2 = self.tmp()
                    self.e(f"{s2} = shl i64 {v}, {o * 8}")
                    v = s2
                parts.append(v)
                o += c
            w = parts[0]
            for part in parts[1:]:
                t = self.tmp()
                self.e(f"{t} = or i64 {w}, {part}")
                w = t
            words.append(w)
        return words

    def const_array(self, values: list[int]) -> str:
        name = f"bases{len(self.consts)}_{self.entry}"
        self.consts.append(f"@{name} = internal constant [{len(values)} x i64] [" +
                           ", ".join(f"i64 {_signed(v, 64)}" for v in values) + "]")
        return name

    def _record_call(self, pc: int) -> None:
        """call_pcs[depth] = pc (depth < MAX_FRAMES here: checked at entry)."""
        i = self.tmp()
        self.e(f"{i} = add i64 %depth, {L.CALL_PCS}")
        p = self.tmp()
        self.e(f"{p} = getelementptr i64, ptr %st, i64 {i}")
        self.e(f"store i64 {pc}, ptr {p}")

    def _callx(self, ins, pc: int) -> None:
        target = self.reg(ins.dst)
        args = self._args()
        done = self.label("cxd")
        other = self.label("cxo")
        cases = []
        for f in self.code.functions:
            cases.append((CODE_BASE + 8 * f, f, self.label("cxf")))
        res = self.tmp()
        self.e(f"switch i64 {target}, label %{other} [" +
               " ".join(f"i64 {_signed(addr, 64)}, label %{lab}" for addr, _, lab in cases) + "]")
        phis = []
        for _addr, f, lab in cases:
            self.block(lab)
            self._record_call(pc)
            d1 = self.tmp()
            self.e(f"{d1} = add i64 %depth, 1")
            r = self.tmp()
            self.e(f"{r} = call i64 @f{f}(ptr %st, " + ", ".join(f"i64 {a}" for a in args)
                   + f", i64 {d1})")
            self.e(f"br label %{done}")
            phis.append((r, lab))
        self.block(other)
        r = self.tramp(L.OP_CALLX, pc, target, tuple(args))
        self.e(f"br label %{done}")
        phis.append((r, other))
        self.block(done)
        self.e(f"{res} = phi i64 " + ", ".join(f"[{v}, %{b}]" for v, b in phis))
        self.check_status(allow_return=True)
        self.setreg(0, res)

    # ---- conditions and ALU ----------------------------------------------------
    def _operands(self, ins, is64: bool) -> tuple[str, str, str]:
        """(a, b, type) with 32-bit operands truncated."""
        a = self.reg(ins.dst)
        if ins.opcode & op.BPF_X:
            b = self.reg(ins.src)
        else:
            b = str(_signed(ins.imm, 64 if is64 else 32))
        if is64:
            return a, b, "i64"
        a32 = self.tmp()
        self.e(f"{a32} = trunc i64 {a} to i32")
        if ins.opcode & op.BPF_X:
            b32 = self.tmp()
            self.e(f"{b32} = trunc i64 {b} to i32")
            b = b32
        return a32, b, "i32"

    def _cond(self, ins) -> str:
        is64 = (ins.opcode & 7) == op.BPF_JMP
        a, b, t = self._operands(ins, is64)
        jop = ins.opcode & 0xF0
        c = self.tmp()
        if jop == op.BPF_JSET:
            x = self.tmp()
            self.e(f"{x} = and {t} {a}, {b}")
            self.e(f"{c} = icmp ne {t} {x}, 0")
            return c
        pred = {op.BPF_JEQ: "eq", op.BPF_JNE: "ne", op.BPF_JGT: "ugt", op.BPF_JGE: "uge",
                op.BPF_JLT: "ult", op.BPF_JLE: "ule", op.BPF_JSGT: "sgt", op.BPF_JSGE: "sge",
                op.BPF_JSLT: "slt", op.BPF_JSLE: "sle"}[jop]
        self.e(f"{c} = icmp {pred} {t} {a}, {b}")
        return c

    def _alu(self, ins) -> None:
        opc = ins.opcode
        is64 = (opc & 7) == op.BPF_ALU64
        aop = opc & 0xF0
        d = ins.dst
        if aop == op.BPF_END:
            self._end(ins, is64)
            return
        if aop == op.BPF_MOV:
            if opc & op.BPF_X:
                v = self.reg(ins.src)
                if ins.off:
                    t = self.tmp()
                    self.e(f"{t} = trunc i64 {v} to i{ins.off}")
                    s = self.tmp()
                    self.e(f"{s} = sext i{ins.off} {t} to {'i64' if is64 else 'i32'}")
                    v = s
                    if not is64:
                        z = self.tmp()
                        self.e(f"{z} = zext i32 {v} to i64")
                        v = z
                elif not is64:
                    v = self._zext32(v)
            else:
                v = str(_signed(ins.imm, 64) if is64 else ins.imm & 0xFFFF_FFFF)
            self.setreg(d, v)
            return
        if aop == op.BPF_NEG:
            a = self.reg(d)
            t = "i64"
            if not is64:
                a = self._trunc32(a)
                t = "i32"
            r = self.tmp()
            self.e(f"{r} = sub {t} 0, {a}")
            self.setreg(d, r if is64 else self._zext(r))
            return
        a, b, t = self._operands(ins, is64)
        bits = 64 if is64 else 32
        r = self.tmp()
        simple = {op.BPF_ADD: "add", op.BPF_SUB: "sub", op.BPF_MUL: "mul", op.BPF_OR: "or",
                  op.BPF_AND: "and", op.BPF_XOR: "xor"}
        if aop in simple:
            self.e(f"{r} = {simple[aop]} {t} {a}, {b}")
        elif aop in (op.BPF_LSH, op.BPF_RSH, op.BPF_ARSH):
            if opc & op.BPF_X:
                sh = self.tmp()
                self.e(f"{sh} = and {t} {b}, {bits - 1}")
            else:
                sh = str(int(b) & (bits - 1))
            name = {op.BPF_LSH: "shl", op.BPF_RSH: "lshr", op.BPF_ARSH: "ashr"}[aop]
            self.e(f"{r} = {name} {t} {a}, {sh}")
        elif aop in (op.BPF_DIV, op.BPF_MOD):
            r = self._divmod(aop, ins.off == 1, a, b, t, bits)
        else:  # pragma: no cover - prepare() refused it
            raise ValueError(f"unknown ALU opcode {opc:#x}")
        self.setreg(d, r if is64 else self._zext(r))

    def _divmod(self, aop: int, signed: bool, a: str, b: str, t: str, bits: int) -> str:
        zero = self.tmp()
        self.e(f"{zero} = icmp eq {t} {b}, 0")
        if signed:
            m1 = self.tmp()
            self.e(f"{m1} = icmp eq {t} {b}, -1")
            special = self.tmp()
            self.e(f"{special} = or i1 {zero}, {m1}")
            bs = self.tmp()
            self.e(f"{bs} = select i1 {special}, {t} 1, {t} {b}")
            q = self.tmp()
            r = self.tmp()
            if aop == op.BPF_DIV:
                self.e(f"{q} = sdiv {t} {a}, {bs}")
                neg = self.tmp()
                self.e(f"{neg} = sub {t} 0, {a}")
                q2 = self.tmp()
                self.e(f"{q2} = select i1 {m1}, {t} {neg}, {t} {q}")
                self.e(f"{r} = select i1 {zero}, {t} 0, {t} {q2}")
            else:
                self.e(f"{q} = srem {t} {a}, {bs}")
                q2 = self.tmp()
                self.e(f"{q2} = select i1 {m1}, {t} 0, {t} {q}")
                self.e(f"{r} = select i1 {zero}, {t} {a}, {t} {q2}")
            return r
        bs = self.tmp()
        self.e(f"{bs} = select i1 {zero}, {t} 1, {t} {b}")
        q = self.tmp()
        r = self.tmp()
        if aop == op.BPF_DIV:
            self.e(f"{q} = udiv {t} {a}, {bs}")
            self.e(f"{r} = select i1 {zero}, {t} 0, {t} {q}")
        else:
            self.e(f"{q} = urem {t} {a}, {bs}")
            self.e(f"{r} = select i1 {zero}, {t} {a}, {t} {q}")
        return r

    def _end(self, ins, is64: bool) -> None:
        width = ins.imm
        v = self.reg(ins.dst)
        t = self.tmp()
        if width < 64:
            self.e(f"{t} = trunc i64 {v} to i{width}")
        else:
            t = v
        if is64 or ins.opcode & op.BPF_TO_BE:
            s = self.tmp()
            self.e(f"{s} = call i{width} @llvm.bswap.i{width}(i{width} {t})")
            t = s
        if width < 64:
            z = self.tmp()
            self.e(f"{z} = zext i{width} {t} to i64")
            t = z
        self.setreg(ins.dst, t)

    def _trunc32(self, v: str) -> str:
        t = self.tmp()
        self.e(f"{t} = trunc i64 {v} to i32")
        return t

    def _zext(self, v: str) -> str:
        t = self.tmp()
        self.e(f"{t} = zext i32 {v} to i64")
        return t

    def _zext32(self, v: str) -> str:
        t = self.tmp()
        self.e(f"{t} = and i64 {v}, 4294967295")
        return t

    # ---- memory ----------------------------------------------------------------
    def _host(self, base: int, off: int, size: int, kind: int, pc: int) -> tuple[str, str]:
        """Resolve ``r<base> + off`` (size bytes) to a host pointer; returns
        (ptr, host address as i64). For probe reads the address may be 0
        (nothing there: read as 0)."""
        a0 = self.reg(base)
        a = self.tmp()
        self.e(f"{a} = add i64 {a0}, {off}")
        c = ("w" if kind == L.MEM_WRITE else "r") + str(size)
        self.cached.add(f"{c}_{base}")
        lo, lim = self.tmp(), self.tmp()
        self.e(f"{lo} = load i64, ptr %{c}lo_{base}")
        self.e(f"{lim} = load i64, ptr %{c}lim_{base}")
        dd = self.tmp()
        self.e(f"{dd} = sub i64 {a}, {lo}")
        ok = self.tmp()
        self.e(f"{ok} = icmp ult i64 {dd}, {lim}")
        hit, miss, done = self.label("hit"), self.label("miss"), self.label("got")
        self.e(f"br i1 {ok}, label %{hit}, label %{miss}, !prof !0")
        self.block(miss)
        res = self.tmp()
        self.e(f"{res} = call {{i64, i64, i64, i64}} @rt_access(ptr %st, i64 {a}, i64 {size}, "
               f"i64 {kind}, i64 {pc}, i64 %depth)")
        vals = []
        for i in range(4):
            v = self.tmp()
            self.e(f"{v} = extractvalue {{i64, i64, i64, i64}} {res}, {i}")
            vals.append(v)
        self.e(f"store i64 {vals[1]}, ptr %{c}lo_{base}")
        self.e(f"store i64 {vals[2]}, ptr %{c}lim_{base}")
        self.e(f"store i64 {vals[3]}, ptr %{c}d_{base}")
        if kind == L.MEM_PROBE:
            s = self.tmp()
            self.e(f"{s} = load i64, ptr %stp")
            bad = self.tmp()
            self.e(f"{bad} = icmp ne i64 {s}, 0")
        else:
            bad = self.tmp()
            self.e(f"{bad} = icmp eq i64 {vals[0]}, 0")
        self.e(f"br i1 {bad}, label %bail, label %{done}")
        self.block(hit)
        d = self.tmp()
        self.e(f"{d} = load i64, ptr %{c}d_{base}")
        h1 = self.tmp()
        self.e(f"{h1} = add i64 {a}, {d}")
        self.e(f"br label %{done}")
        self.block(done)
        h = self.tmp()
        self.e(f"{h} = phi i64 [{h1}, %{hit}], [{vals[0]}, %{miss}]")
        p = self.tmp()
        self.e(f"{p} = inttoptr i64 {h} to ptr")
        return p, h

    def _simple(self, ins, pc: int) -> None:
        opc = ins.opcode
        cls = opc & 7
        if cls in (op.BPF_ALU, op.BPF_ALU64):
            self._alu(ins)
            return
        if opc == op.LD_IMM64:
            self.setreg(ins.dst, str(_signed(ins.imm, 64)))
            return
        if cls == op.BPF_LDX:
            size = SIZES[opc & 0x18]
            kind = L.MEM_PROBE if self.probe else L.MEM_READ
            p, h = self._host(ins.src, ins.off, size, kind, pc)
            bits = size * 8
            ext = "sext" if opc & 0xE0 == op.BPF_MEMSX else "zext"
            if kind == L.MEM_PROBE:
                # a null host address (nothing there) reads as 0
                isnull = self.tmp()
                self.e(f"{isnull} = icmp eq i64 {h}, 0")
                rd, z, j = self.label("prd"), self.label("pz"), self.label("pj")
                self.e(f"br i1 {isnull}, label %{z}, label %{rd}")
                self.block(rd)
                v = self._load(p, bits, ext)
                self.e(f"br label %{j}")
                self.block(z)
                self.e(f"br label %{j}")
                self.block(j)
                r = self.tmp()
                self.e(f"{r} = phi i64 [{v}, %{rd}], [0, %{z}]")
                self.setreg(ins.dst, r)
                return
            self.setreg(ins.dst, self._load(p, bits, ext))
            return
        if cls in (op.BPF_ST, op.BPF_STX):
            size = SIZES[opc & 0x18]
            bits = size * 8
            if cls == op.BPF_STX and opc & 0xE0 == op.BPF_ATOMIC:
                self._atomic(ins, size, pc)
                return
            if cls == op.BPF_ST:
                value = str(_signed(ins.imm & ((1 << bits) - 1), bits))
            else:
                v = self.reg(ins.src)
                if bits < 64:
                    value = self.tmp()
                    self.e(f"{value} = trunc i64 {v} to i{bits}")
                else:
                    value = v
            p, _ = self._host(ins.dst, ins.off, size, L.MEM_WRITE, pc)
            self.e(f"store i{bits} {value}, ptr {p}, align 1")
            return
        # LD_ABS / LD_IND
        size = SIZES[opc & 0x18]
        if opc & 0xE0 == op.BPF_IND:
            s = self.reg(ins.src)
            t = self.tmp()
            self.e(f"{t} = add i64 {s}, {ins.imm}")
            t32 = self._trunc32(t)
            off = self.tmp()
            self.e(f"{off} = sext i32 {t32} to i64")
        else:
            off = str(ins.imm)
        self.charge(0)
        self.save_budget()
        r = self.tramp(L.OP_LDABS, pc, "0", (off, str(size)))
        self.check_status()
        self.setreg(0, r)

    def _load(self, p: str, bits: int, ext: str) -> str:
        v = self.tmp()
        self.e(f"{v} = load i{bits}, ptr {p}, align 1")
        if bits == 64:
            return v
        x = self.tmp()
        self.e(f"{x} = {ext} i{bits} {v} to i64")
        return x

    def _atomic(self, ins, size: int, pc: int) -> None:
        bits = size * 8
        t = f"i{bits}"
        aop = ins.imm
        p, h = self._host(ins.dst, ins.off, size, L.MEM_WRITE, pc)
        src = self.reg(ins.src)
        sv = src
        if bits < 64:
            sv = self.tmp()
            self.e(f"{sv} = trunc i64 {src} to {t}")
        # misaligned host addresses take a plain read-modify-write (an atomic
        # instruction may trap there on some CPUs); the others are LLVM atomics
        mis = self.tmp()
        self.e(f"{mis} = and i64 {h}, {size - 1}")
        isal = self.tmp()
        self.e(f"{isal} = icmp eq i64 {mis}, 0")
        at, pl, j = self.label("at"), self.label("pl"), self.label("aj")
        if aop == op.BPF_CMPXCHG:
            r0 = self.reg(0)
            exp = r0
            if bits < 64:
                exp = self.tmp()
                self.e(f"{exp} = trunc i64 {r0} to {t}")
        self.e(f"br i1 {isal}, label %{at}, label %{pl}")
        if aop == op.BPF_CMPXCHG:
            self.block(at)
            pair = self.tmp()
            self.e(f"{pair} = cmpxchg ptr {p}, {t} {exp}, {t} {sv} seq_cst seq_cst, align {size}")
            old1 = self.tmp()
            self.e(f"{old1} = extractvalue {{ {t}, i1 }} {pair}, 0")
            self.e(f"br label %{j}")
            self.block(pl)
            old2 = self.tmp()
            self.e(f"{old2} = load {t}, ptr {p}, align 1")
            eq = self.tmp()
            self.e(f"{eq} = icmp eq {t} {old2}, {exp}")
            nv = self.tmp()
            self.e(f"{nv} = select i1 {eq}, {t} {sv}, {t} {old2}")
            self.e(f"store {t} {nv}, ptr {p}, align 1")
            self.e(f"br label %{j}")
            self.block(j)
            old = self.tmp()
            self.e(f"{old} = phi {t} [{old1}, %{at}], [{old2}, %{pl}]")
            self.setreg(0, old if bits == 64 else self._zext(old))
            return
        base = aop & ~op.BPF_FETCH
        if aop == op.BPF_XCHG:
            rmw, plain = "xchg", None
        else:
            rmw = {op.BPF_ADD: "add", op.BPF_OR: "or", op.BPF_AND: "and",
                   op.BPF_XOR: "xor"}[base]
            plain = rmw
        self.block(at)
        old1 = self.tmp()
        self.e(f"{old1} = atomicrmw {rmw} ptr {p}, {t} {sv} seq_cst, align {size}")
        self.e(f"br label %{j}")
        self.block(pl)
        old2 = self.tmp()
        self.e(f"{old2} = load {t}, ptr {p}, align 1")
        if plain is None:
            nv = sv
        else:
            nv = self.tmp()
            self.e(f"{nv} = {plain} {t} {old2}, {sv}")
        self.e(f"store {t} {nv}, ptr {p}, align 1")
        self.e(f"br label %{j}")
        self.block(j)
        old = self.tmp()
        self.e(f"{old} = phi {t} [{old1}, %{at}], [{old2}, %{pl}]")
        if aop == op.BPF_XCHG or aop & op.BPF_FETCH:
            self.setreg(ins.src, old if bits == 64 else self._zext(old))


#: branch weights: the cache usually hits
METADATA = '\n!0 = !{!"branch_weights", i32 1000, i32 1}\n'
