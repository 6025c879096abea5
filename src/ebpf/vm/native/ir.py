"""eBPF to LLVM IR (text), one LLVM function per BPF function.

Registers live in ``alloca`` slots that LLVM's SROA/mem2reg turn into SSA
values; r10 is the frame's constant stack pointer. Semantics follow
:mod:`ebpf.vm.interpreter` exactly (:mod:`.iralu`); every memory access is
checked (:mod:`.irmemory`); calling conventions, unwinding and the budget are
in :mod:`.irbase`; native map lookups in :mod:`.irmaps`. The instruction budget
is charged per block exit and checked on function entry, backward jumps and
calls, as the translator does, so every loop ends. Functions Python enters
(the program, callbacks) get a C-callable wrapper ``i64 @e<slot>(ptr %st,
i64 r1..r5, i64 %depth)`` that takes and gives back the budget in the state
block (:mod:`.layout`).
"""

from __future__ import annotations

import sys
from typing import Any

from ...isa import opcodes as op
from ..code import CODE_BASE, Code, jump_targets, reachable
from ..run import MAX_FRAMES, STACK_SIZE
from . import layout as L
from .iralu import AluEmitter
from .irbase import RET, signed
from .irmaps import HELPER_DELETE, HELPER_LOOKUP, HELPER_TAIL_CALL, HELPER_UPDATE
from .irmemory import RUNTIME
from .irring import HELPER_DISCARD, HELPER_SUBMIT, RING_HELPERS, SPIN, RingEmitter
from .maps import Info

SIZES = {op.BPF_B: 1, op.BPF_H: 2, op.BPF_W: 4, op.BPF_DW: 8}
#: helpers done in generated code (and bpf_map_lookup_elem, see .irmaps)
HELPER_KTIME = 5  # bpf_ktime_get_ns
HELPER_CPU = 8  # bpf_get_smp_processor_id
HELPER_PRANDOM = 7  # bpf_get_prandom_u32
#: helpers that never reach Python (those of .irmaps may, for what they leave to it)
PURE_HELPERS = frozenset({HELPER_CPU, HELPER_KTIME, HELPER_PRANDOM})
#: xorshift64* multiplier of bpf_get_prandom_u32
PRANDOM_MUL = 0x2545_F491_4F6C_DD1D
#: bpf_ktime_get_ns calls clock_gettime(CLOCK_MONOTONIC) directly on Linux, the
#: clock time.monotonic_ns() reads there
NATIVE_CLOCK = sys.platform.startswith("linux")
CLOCK_MONOTONIC = 1
#: helpers that read the BPF call chain (bpf_get_stackid, bpf_get_stack,
#: bpf_get_task_stack)
STACK_HELPERS = frozenset({27, 67, 141})


def module_ir(code: Code, probe_loads: bool = False,
              maps: dict[int, Info] | None = None) -> str:
    """The LLVM IR module for every BPF function of ``code``; ``maps`` are the
    maps whose lookups generated code does itself (see :mod:`.maps`)."""
    parts = [f"; BPF program {code.name}", RUNTIME, SPIN]
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
            elif opc == op.CALL and ins.imm not in PURE_HELPERS:
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
    wrappers = "".join(f"""
define i64 @e{slot}(ptr %st, i64 %a1, i64 %a2, i64 %a3, i64 %a4, i64 %a5, i64 %depth) {{
entry:
  %bp = getelementptr i64, ptr %st, i64 {L.BUDGET}
  %n0 = load i64, ptr %bp
  %res = call {RET} @f{slot}(ptr %st, i64 %a1, i64 %a2, i64 %a3, i64 %a4, i64 %a5,
                             i64 %depth, i64 %n0)
  %r0 = extractvalue {RET} %res, 0
  %n = extractvalue {RET} %res, 1
  store i64 %n, ptr %bp
  ret i64 %r0
}}
""" for slot in sorted(entry_points(code)))
    return wrappers + f"""
define i64 @run_loop(ptr %st, i64 %n) {{
entry:
  %ctxp = getelementptr i64, ptr %st, i64 {L.CTX}
  %ctx = load i64, ptr %ctxp
  %bip = getelementptr i64, ptr %st, i64 {L.BUDGET_INIT}
  %binit = load i64, ptr %bip
  %bp = getelementptr i64, ptr %st, i64 {L.BUDGET}
  %sp = getelementptr i64, ptr %st, i64 {L.STATUS}
  %dp = getelementptr i64, ptr %st, i64 {L.DONE}
  %tcp = getelementptr i64, ptr %st, i64 {L.TAILS}
  br label %loop
loop:
  %i = phi i64 [0, %entry], [%i1, %ok]
  %r = phi i64 [0, %entry], [%r0, %ok]
  %more = icmp ult i64 %i, %n
  br i1 %more, label %body, label %out
body:
  store i64 %binit, ptr %bp
  store i64 0, ptr %tcp
  %res = call {RET} {f0}(ptr %st, i64 %ctx, i64 0, i64 0, i64 0, i64 0, i64 0, i64 %binit)
  %r0 = extractvalue {RET} %res, 0
  %nl = extractvalue {RET} %res, 1
  store i64 %nl, ptr %bp
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


class _Function(RingEmitter, AluEmitter):
    """IR for the BPF function starting at ``entry``."""

    def __init__(self, code: Code, entry: int, probe_loads: bool,
                 maps: dict[int, Info] | None = None):
        super().__init__()
        self.maps = maps or {}
        self.consts: list[str] = []
        self.code = code
        #: validated slots (prepare() made every reachable one an instruction)
        self.slots: list[Any] = code.slots
        self.entry = entry
        self.probe = probe_loads
        self.body = reachable(self.slots, entry)
        self.leaders = jump_targets(self.slots, self.body) | {entry}
        #: functions that never reach Python (set by module_ir)
        self.python_free: set[int] = set()

    # ---- emit helpers ----------------------------------------------------------
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
        head = [f"define internal {RET} @f{self.entry}(ptr %st, i64 %a1, i64 %a2, i64 %a3, "
                "i64 %a4, i64 %a5, i64 %depth, i64 %n0) {", "entry:"]
        for r in range(10):
            head.append(f"  %r{r} = alloca i64")
        head.append("  %n = alloca i64")
        head.append("  %gen = alloca i64")
        head.append("  %kreg = alloca i64")
        head.append("  %vreg = alloca i64")
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
        deep = self.let(f"icmp uge i64 %depth, {MAX_FRAMES}")
        self.e("br i1 " + deep + ", label %deep, label %start")
        self.block("deep")
        self.fault(L.FAULT_DEPTH, self.entry)
        self.block("start")
        se = self.word(L.STACK_END)
        sev = self.let(f"load i64, ptr {se}")
        fo = self.let(f"mul i64 %depth, {STACK_SIZE}")
        self.e(f"%fp = sub i64 {sev}, {fo}")
        sd = self.word(L.STACK_DELTA)
        self.e(f"%sdelta = load i64, ptr {sd}")
        self.e("store i64 %n0, ptr %n")
        self.check_budget(self.entry)
        self.e(f"br label %L{self.entry}")
        for leader in sorted(self.leaders):
            if leader in self.body:
                self._block(leader)
        self.block("bail")
        self.e(f"ret {RET} {{i64 0, i64 0, i1 true}}")
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
                    self.ret(self.reg(0), self.budget())
                    return
                if jop == op.BPF_JA:
                    self.goto(ins.jump_target(pc), pc, cnt)
                    return
                if jop == op.BPF_CALL:
                    self.charge(cnt)
                    cnt = 0
                    self.check_budget(pc)
                    local = ins.src == op.BPF_PSEUDO_CALL and ins.opcode != op.CALLX
                    if not local:  # Python sees the budget in the state block
                        self.save_budget()
                    self._call(ins, pc)
                    if not local:
                        self.load_budget()
                    if not (ins.src == op.BPF_PSEUDO_CALL and ins.opcode != op.CALLX
                            and pc + 1 + ins.imm in self.python_free) \
                            and not (ins.src == 0 and ins.opcode != op.CALLX
                                     and ins.imm in PURE_HELPERS):
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
            self.setreg(0, self.call_function(target, self._args()))
            return
        hid = ins.imm & 0xFFFF_FFFF
        if hid == HELPER_CPU:
            c = self.let("load i64, ptr %cpup")
            self.setreg(0, c)
            return
        if hid == HELPER_KTIME and NATIVE_CLOCK:
            ts = self.let("alloca [2 x i64]")
            self.let(f"call i32 @clock_gettime(i32 {CLOCK_MONOTONIC}, ptr {ts})")
            sec = self.let(f"load i64, ptr {ts}")
            np_ = self.let(f"getelementptr i64, ptr {ts}, i64 1")
            ns = self.let(f"load i64, ptr {np_}")
            m = self.let(f"mul i64 {sec}, 1000000000")
            t = self.let(f"add i64 {m}, {ns}")
            self.setreg(0, t)
            return
        if hid == HELPER_PRANDOM:
            self.setreg(0, self._prandom())
            return
        args = self._args()
        if hid in (HELPER_LOOKUP, HELPER_UPDATE, HELPER_DELETE) and self.maps:
            self.setreg(0, self._map_helper(hid, args, pc))
            return
        if hid == HELPER_TAIL_CALL and self.maps:
            self.setreg(0, self._tail_call(args, pc))
            return
        if hid in RING_HELPERS and (self._rings() or hid in (HELPER_SUBMIT, HELPER_DISCARD)):
            self.setreg(0, self._ring_helper(hid, args, pc))
            return
        self.setreg(0, self.python_helper(hid, pc, args))

    def _prandom(self) -> str:
        """bpf_get_prandom_u32: xorshift64* on the run state's RNG word (the
        high 32 bits of the product)."""
        p = self.word(L.RNG)
        x = self.let(f"load i64, ptr {p}")
        for sh, d in ((12, "lshr"), (25, "shl"), (27, "lshr")):
            t = self.let(f"{d} i64 {x}, {sh}")
            y = self.let(f"xor i64 {x}, {t}")
            x = y
        self.e(f"store i64 {x}, ptr {p}")
        m = self.let(f"mul i64 {x}, {signed(PRANDOM_MUL, 64)}")
        return self.let(f"lshr i64 {m}, 32")

    def _record_call(self, pc: int) -> None:
        """call_pcs[depth] = pc (depth < MAX_FRAMES here: checked at entry),
        when a helper may read it."""
        if not self.code.helpers & STACK_HELPERS and not self.code.has_callx:
            return
        i = self.let(f"add i64 %depth, {L.CALL_PCS}")
        p = self.let(f"getelementptr i64, ptr %st, i64 {i}")
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
               " ".join(f"i64 {signed(addr, 64)}, label %{lab}" for addr, _, lab in cases) + "]")
        phis = []
        for _addr, f, lab in cases:
            self.block(lab)
            self._record_call(pc)
            r = self.call_function(f, args)
            self.save_budget()  # the caller reloads it from the state block
            self.e(f"br label %{done}")
            phis.append((r, self.cur))
        self.block(other)
        r = self.tramp(L.OP_CALLX, pc, target, tuple(args))
        self.e(f"br label %{done}")
        phis.append((r, other))
        self.block(done)
        self.e(f"{res} = phi i64 " + ", ".join(f"[{v}, %{b}]" for v, b in phis))
        self.check_status(allow_return=True)
        self.setreg(0, res)

    # ---- conditions and ALU ----------------------------------------------------
    def _simple(self, ins, pc: int) -> None:
        opc = ins.opcode
        cls = opc & 7
        if cls in (op.BPF_ALU, op.BPF_ALU64):
            self._alu(ins)
            return
        if opc == op.LD_IMM64:
            self.setreg(ins.dst, str(signed(ins.imm, 64)))
            return
        if cls == op.BPF_LDX:
            size = SIZES[opc & 0x18]
            kind = L.MEM_PROBE if self.probe else L.MEM_READ
            p, h = self._host(ins.src, ins.off, size, kind, pc)
            bits = size * 8
            ext = "sext" if opc & 0xE0 == op.BPF_MEMSX else "zext"
            if kind == L.MEM_PROBE:
                # a null host address (nothing there) reads as 0
                isnull = self.let(f"icmp eq i64 {h}, 0")
                rd, z, j = self.label("prd"), self.label("pz"), self.label("pj")
                self.e(f"br i1 {isnull}, label %{z}, label %{rd}")
                self.block(rd)
                v = self._load(p, bits, ext)
                self.e(f"br label %{j}")
                self.block(z)
                self.e(f"br label %{j}")
                self.block(j)
                r = self.let(f"phi i64 [{v}, %{rd}], [0, %{z}]")
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
                value = str(signed(ins.imm & ((1 << bits) - 1), bits))
            else:
                v = self.reg(ins.src)
                if bits < 64:
                    value = self.let(f"trunc i64 {v} to i{bits}")
                else:
                    value = v
            p, _ = self._host(ins.dst, ins.off, size, L.MEM_WRITE, pc)
            self.e(f"store i{bits} {value}, ptr {p}, align 1")
            return
        # LD_ABS / LD_IND
        size = SIZES[opc & 0x18]
        if opc & 0xE0 == op.BPF_IND:
            s = self.reg(ins.src)
            t = self.let(f"add i64 {s}, {ins.imm}")
            t32 = self._trunc32(t)
            off = self.let(f"sext i32 {t32} to i64")
        else:
            off = str(ins.imm)
        self.charge(0)
        self.save_budget()
        r = self.tramp(L.OP_LDABS, pc, "0", (off, str(size)))
        self.check_status()
        self.setreg(0, r)

#: branch weights: the cache usually hits
METADATA = '\n!0 = !{!"branch_weights", i32 1000, i32 1}\n'
