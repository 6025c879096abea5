"""The translator ("JIT"): eBPF functions to Python source, compiled with ``compile()``.

Each BPF function becomes one Python function. Registers are local variables;
basic blocks (started by the entry and by jump targets) sit in a ``while True``
loop and are picked by a binary tree of ``pc`` comparisons, while straight-line
code, including the not-taken side of conditional jumps, runs without dispatch,
and a block that jumps back to its own start (the usual loop) is an inner
``while True``.
Memory goes through a one-entry cache per direction (read, write) holding the
last region's ``bytearray`` and bounds; a miss asks :class:`~ebpf.vm.memory.Memory`
(which checks bounds and faults). The instruction budget is charged per block
exit, exactly, and checked on backward jumps, calls and function entry, so
every loop is bounded.

The semantics are those of :mod:`ebpf.vm.interpreter`, the reference; a
differential test runs both on random programs.

>>> from ebpf.vm.conformance import run_conformance
>>> run_conformance(bytes.fromhex("b7000000050000000700000002000000"
...                               "9500000000000000"), jit=True)
7
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import RuntimeFault
from ..isa import opcodes as op
from .code import ADDR_SPACE_CAST, CODE_BASE, Code, jump_targets, reachable
from .interpreter import ATOMIC_LOCK, SIZES, load_packet_abs, sdiv, smod
from .memory import M64
from .run import MAX_FRAMES, STACK_SIZE, Run, TailCall, wrap_helper

log = logging.getLogger("ebpf.vm")

M32 = 0xFFFF_FFFF
S64 = 1 << 63
S32 = 1 << 31

_UNPACK = {1: "_U1", 2: "_U2", 4: "_U4", 8: "_U8"}
_SUNPACK = {1: "_S1", 2: "_S2", 4: "_S4"}
_PACK = {1: "_P1", 2: "_P2", 4: "_P4", 8: "_P8"}
_MASK = {1: 0xFF, 2: 0xFFFF, 4: M32, 8: M64}


def _bswap32(x: int) -> int:
    return int.from_bytes((x & M32).to_bytes(4, "little"), "big")


def _bswap64(x: int) -> int:
    return int.from_bytes(x.to_bytes(8, "little"), "big")


#: Python for the ALU operations that need no special case, by width (is64): d is
#: the register, a and bw the operands cut to the width, m the mask, s the sign bit
_WRAPPING = {op.BPF_ADD: "{d} = ({d} + {b}) & {m}", op.BPF_SUB: "{d} = ({d} - {b}) & {m}",
             op.BPF_MUL: "{d} = ({d} * {b}) & {m}", op.BPF_LSH: "{d} = ({d} << {sh}) & {m}",
             op.BPF_ARSH: "{d} = ((({a} ^ {s}) - {s}) >> {sh}) & {m}"}
_ALU = {
    True: {**_WRAPPING, op.BPF_OR: "{d} |= {b}", op.BPF_AND: "{d} &= {b}",
           op.BPF_XOR: "{d} ^= {b}", op.BPF_RSH: "{d} >>= {sh}"},
    False: {**_WRAPPING, op.BPF_OR: "{d} = ({d} | {b}) & {m}", op.BPF_AND: "{d} &= {bw}",
            op.BPF_XOR: "{d} = ({d} ^ {b}) & {m}", op.BPF_RSH: "{d} = {a} >> {sh}"},
}


def _divmod(aop: int, ins: Any, d: str, a: str, b: str, bw: str, is_x: bool, bits: int) -> str:
    """Division and modulo; by zero gives 0 and leaves the dividend (cut to the
    width), as the kernel defines them."""
    div = aop == op.BPF_DIV
    if ins.off == 1:
        return f"{d} = _s{'div' if div else 'mod'}({d}, {b}, {bits})"
    sym = "//" if div else "%"
    if bits == 64:
        if not is_x:
            return f"{d} = {d} {sym} {b}" if ins.imm else (f"{d} = 0" if div else "pass")
        return f"{d} = {d} {sym} {b} if {b} else {'0' if div else d}"
    if not is_x:
        return (f"{d} = {a} {sym} {b}" if ins.imm & M32
                else (f"{d} = 0" if div else f"{d} &= {M32}"))
    return f"_b = {bw}; {d} = {a} {sym} _b if _b else {'0' if div else a}"


def _budget_fault(pc: int):
    return RuntimeFault("instruction budget exhausted (runaway loop?)", pc)


_BASE_GLOBALS = {
    "_U1": struct.Struct("<B").unpack_from, "_U2": struct.Struct("<H").unpack_from,
    "_U4": struct.Struct("<I").unpack_from, "_U8": struct.Struct("<Q").unpack_from,
    "_S1": struct.Struct("<b").unpack_from, "_S2": struct.Struct("<h").unpack_from,
    "_S4": struct.Struct("<i").unpack_from,
    "_P1": struct.Struct("<B").pack_into, "_P2": struct.Struct("<H").pack_into,
    "_P4": struct.Struct("<I").pack_into, "_P8": struct.Struct("<Q").pack_into,
    "_sdiv": sdiv, "_smod": smod,
    "_bswap32": _bswap32, "_bswap64": _bswap64, "_budget_fault": _budget_fault,
    "_ALOCK": ATOMIC_LOCK, "_ldabs": load_packet_abs, "TailCall": TailCall,
    "RuntimeFault": RuntimeFault,
}


class Translator:
    """Executor that translates each :class:`Code` once and runs the result."""

    name = "translator"

    def __init__(self, helpers: dict[int, Callable[..., int]], probe_loads: bool = False):
        self.helpers = helpers
        #: loads that fault give 0, as the kernel's PROBE_MEM loads through BTF
        #: pointers do in tracing and LSM programs
        self.probe_loads = probe_loads
        self._compiled: dict[int, tuple[Code, dict[int, Callable]]] = {}

    # ---- running ---------------------------------------------------------------
    def functions(self, code: Code) -> dict[int, Callable]:
        entry = self._compiled.get(id(code))
        if entry is None or entry[0] is not code:
            entry = (code, self.translate(code))
            self._compiled[id(code)] = entry
        return entry[1]

    def call(self, run: Run, code: Code, slot: int, args: Sequence[int], depth: int) -> int:
        """Run the function at ``slot`` with r1.. = args; tail calls replace it."""
        saved_prog, saved_depth = run.program, run.depth
        a = [x & M64 for x in args] + [0] * (5 - len(args))
        try:
            while True:
                fn = self.functions(code).get(slot)
                if fn is None:
                    raise RuntimeFault(f"no function starts at slot {slot}")
                try:
                    return fn(run, a[0], a[1], a[2], a[3], a[4], depth)
                except TailCall as t:
                    run.program = t.program
                    if t.program.executor is not self:
                        return t.program.executor.call(run, t.program.code, 0, (t.ctx,), depth)
                    code, slot, a = t.program.code, 0, [t.ctx, 0, 0, 0, 0]
        finally:
            run.program, run.depth = saved_prog, saved_depth

    def _tail(self, run: Run, t: TailCall, depth: int) -> int:
        run.program = t.program
        return t.program.executor.call(run, t.program.code, 0, (t.ctx,), depth)

    def _callx(self, run: Run, code: Code, target: int, args: tuple, depth: int, pc: int) -> int:
        if target >= CODE_BASE and (target - CODE_BASE) % 8 == 0:
            slot = (target - CODE_BASE) // 8
            if slot in code.functions:
                run.call_pcs[depth] = pc
                rv = self.call(run, code, slot, args, depth + 1)
                run.depth = depth
                return rv
            raise RuntimeFault(f"callx to {target:#x}, which is not a function", pc)
        fn = self.helpers.get(target)
        if fn is None:
            raise RuntimeFault(f"callx to unknown helper #{target}", pc)
        return wrap_helper(fn)(run, pc, *args)

    # ---- translating -------------------------------------------------------------
    def translate(self, code: Code) -> dict[int, Callable]:
        """Python functions for every BPF function of ``code``, by entry slot."""
        env: dict[str, Any] = dict(_BASE_GLOBALS)
        env["_code"] = code
        env["_self"] = self
        env["_MAXDEPTH"] = MAX_FRAMES
        for hid in code.helpers:
            fn = self.helpers.get(hid)
            if fn is not None:
                env[f"_h{hid}"] = wrap_helper(fn)
        src = [_FunctionWriter(code, entry, self.probe_loads).write()
               for entry in code.functions]
        text = "\n\n".join(src)
        log.debug("translated %s: %d lines", code.name, text.count("\n"))
        try:
            compiled = compile(text, f"<bpf {code.name}>", "exec")
        except (SyntaxError, RecursionError, MemoryError) as e:  # pragma: no cover
            raise RuntimeFault(f"program {code.name} could not be translated: {e}") from e
        exec(compiled, env)  # noqa: S102 - our own generated source
        out = {entry: env[f"f{entry}"] for entry in code.functions}
        for entry in code.functions:
            env[f"f{entry}"] = out[entry]
        self.last_source = text
        return out


class _FunctionWriter:
    """Python source for one BPF function."""

    def __init__(self, code: Code, entry: int, probe_loads: bool = False):
        self.probe_loads = probe_loads
        self.code = code
        self.entry = entry
        self.slots = code.slots
        self.body = sorted(reachable(self.slots, entry))
        self.body_set = set(self.body)
        self.leaders = self._leaders()
        self.leader_set = set(self.leaders)
        self._leader: int | None = None
        self._loop_mode = False
        self._self_loop = False

    def _leaders(self) -> list[int]:
        targets = jump_targets(self.slots, self.body)
        self.has_jumps = bool(targets)
        return sorted(targets | {self.entry})

    # ---- emit ------------------------------------------------------------------
    def write(self) -> str:
        lines = [f"def f{self.entry}(run, r1, r2, r3, r4, r5, depth):",
                 "    if depth >= _MAXDEPTH:",
                 f"        raise RuntimeFault('call stack too deep: more than {MAX_FRAMES} frames', "
                 f"{self.entry})",
                 "    r0 = r6 = r7 = r8 = r9 = 0",
                 f"    r10 = run.stack.end - {STACK_SIZE} * depth",
                 "    run.depth = depth",
                 "    _mem = run.mem",
                 "    _rc = _mem.rcache",
                 "    _wc = _mem.wcache",
                 "    _prc = _mem.probe_rcache",
                 "    rb = wb = None",
                 "    rlo = rhi = rd = wlo = whi = wd = 0",
                 "    n = run.budget",
                 f"    if n < 0: raise _budget_fault({self.entry})"]
        self.single = not self.has_jumps
        blocks = {ld: self._block(ld) for ld in self.leaders}
        if self.single:
            lines += ["    " + ln for ln in blocks[self.entry]]
        else:
            lines.append(f"    pc = {self.entry}")
            lines.append("    while True:")
            lines += self._dispatch(self.leaders, blocks, 2)
        return "\n".join(lines)

    def _dispatch(self, leaders: list[int], blocks: dict[int, list[str]], depth: int) -> list[str]:
        ind = "    " * depth
        if len(leaders) == 1:
            return [ind + ln for ln in blocks[leaders[0]]]
        if len(leaders) <= 3:
            out = []
            for i, ld in enumerate(leaders):
                if i == len(leaders) - 1:
                    out.append(f"{ind}else:")
                else:
                    out.append(f"{ind}{'if' if i == 0 else 'elif'} pc == {ld}:")
                out += ["    " + ind + ln for ln in blocks[ld]]
            return out
        mid = len(leaders) // 2
        out = [f"{ind}if pc < {leaders[mid]}:"]
        out += self._dispatch(leaders[:mid], blocks, depth + 1)
        out.append(f"{ind}else:")
        out += self._dispatch(leaders[mid:], blocks, depth + 1)
        return out

    def _goto(self, target: int, here: int, cnt: int) -> list[str]:
        out = []
        if cnt:
            out.append(f"n -= {cnt}")
        if target <= here:
            out.append(f"if n < 0: raise _budget_fault({here})")
        if target == self._leader:
            self._self_loop = True
            if self._loop_mode:  # back to the top of this block: no dispatch
                out.append("continue")
                return out
        out.append(f"pc = {target}")
        out.append("break" if self._loop_mode else "continue")
        return out

    def _block(self, leader: int) -> list[str]:
        """A block's code; a block that jumps back to its own start becomes an
        inner ``while True`` loop, so the loop runs without dispatch."""
        self._leader, self._loop_mode, self._self_loop = leader, False, False
        out = self._block_code(leader)
        if self._self_loop and not self.single:
            self._loop_mode = True
            out = ["while True:"] + ["    " + ln for ln in self._block_code(leader)]
        self._leader = None
        return out

    def _block_code(self, leader: int) -> list[str]:
        out: list[str] = []
        pc = leader
        cnt = 0
        body = self.body_set
        leaders = self.leader_set
        while True:
            if pc not in body:
                out.append(f"raise RuntimeFault('execution ran off the end of the program', {pc})")
                return out
            ins = self.code.instruction(pc)
            cnt += 1
            opc = ins.opcode
            cls = opc & 7
            if cls in (op.BPF_JMP, op.BPF_JMP32):
                jop = opc & 0xF0
                if jop == op.BPF_EXIT:
                    out += [f"n -= {cnt}", "run.budget = n", "return r0"]
                    return out
                if jop == op.BPF_JA:
                    out += self._goto(ins.jump_target(pc), pc, cnt)
                    return out
                if jop == op.BPF_CALL:
                    out += [f"n -= {cnt}", f"if n < 0: raise _budget_fault({pc})", "run.budget = n"]
                    cnt = 0
                    out += self._call(ins, pc)
                    out += ["n = run.budget", "rhi = whi = 0"]
                else:
                    cond = self._cond(ins)
                    out.append(f"if {cond}:")
                    out += ["    " + ln for ln in self._goto(ins.jump_target(pc), pc, cnt)]
            else:
                out += self._simple(ins, pc)
            pc += ins.size
            if pc in leaders:
                out += self._goto(pc, pc - 1, cnt)
                return out

    def _call(self, ins, pc: int) -> list[str]:
        if ins.opcode == op.CALLX:
            return [f"r0 = _self._callx(run, _code, r{ins.dst}, (r1, r2, r3, r4, r5), depth, {pc})"]
        if ins.src == op.BPF_PSEUDO_CALL:
            target = pc + 1 + ins.imm
            return [f"run.call_pcs[depth] = {pc}",
                    "try:",
                    f"    r0 = f{target}(run, r1, r2, r3, r4, r5, depth + 1)",
                    "except TailCall as _t:",
                    "    r0 = _self._tail(run, _t, depth + 1)",
                    "run.depth = depth"]
        return [f"r0 = _h{ins.imm}(run, {pc}, r1, r2, r3, r4, r5)"]

    @staticmethod
    def _cond(ins) -> str:
        opc = ins.opcode
        is64 = (opc & 7) == op.BPF_JMP
        jop = opc & 0xF0
        mask = M64 if is64 else M32
        sign = S64 if is64 else S32
        a = f"r{ins.dst}" if is64 else f"(r{ins.dst} & {M32})"
        if opc & op.BPF_X:
            b = f"r{ins.src}" if is64 else f"(r{ins.src} & {M32})"
            sb = f"({b} ^ {sign})"
        else:
            c = ins.imm & mask
            b = str(c)
            sb = str(c ^ sign)
        sa = f"({a} ^ {sign})"
        return {
            op.BPF_JEQ: f"{a} == {b}", op.BPF_JNE: f"{a} != {b}",
            op.BPF_JGT: f"{a} > {b}", op.BPF_JGE: f"{a} >= {b}",
            op.BPF_JLT: f"{a} < {b}", op.BPF_JLE: f"{a} <= {b}",
            op.BPF_JSET: f"{a} & {b}",
            op.BPF_JSGT: f"{sa} > {sb}", op.BPF_JSGE: f"{sa} >= {sb}",
            op.BPF_JSLT: f"{sa} < {sb}", op.BPF_JSLE: f"{sa} <= {sb}",
        }[jop]

    def _simple(self, ins, pc: int) -> list[str]:
        opc = ins.opcode
        cls = opc & 7
        d = f"r{ins.dst}"
        if cls in (op.BPF_ALU64, op.BPF_ALU):
            return [self._alu(ins, d, cls == op.BPF_ALU64)]
        if cls == op.BPF_LDX:
            size = SIZES[opc & 0x18]
            addr = self._addr(ins.src, ins.off)
            signed = opc & 0xE0 == op.BPF_MEMSX
            fn = _SUNPACK[size] if signed else _UNPACK[size]
            load = f"{fn}(rb, _a - rd)[0]" + (f" & {M64}" if signed else "")
            if size == 1 and not signed:
                load = "rb[_a - rd]"
            if self.probe_loads:  # BTF-pointer loads: a fault reads as 0 (PROBE_MEM)
                return [f"_a = {addr}",
                        f"if rlo <= _a and _a + {size} <= rhi:",
                        f"    {d} = {load}",
                        "else:",
                        f"    _c = _prc(_a, {size})",
                        "    if _c is None:",
                        f"        {d} = 0",
                        "    else:",
                        "        rb, rlo, rhi, rd = _c",
                        f"        {d} = {load}"]
            return [f"_a = {addr}",
                    f"if not (rlo <= _a and _a + {size} <= rhi):",
                    f"    rb, rlo, rhi, rd = _rc(_a, {size}, {pc})",
                    f"{d} = {load}"]
        if cls in (op.BPF_ST, op.BPF_STX):
            size = SIZES[opc & 0x18]
            addr = self._addr(ins.dst, ins.off)
            if cls == op.BPF_STX and opc & 0xE0 == op.BPF_ATOMIC:
                return self._atomic(ins, size, addr, pc)
            if cls == op.BPF_ST:
                value = str(ins.imm & _MASK[size])
            else:
                value = f"r{ins.src}" if size == 8 else f"r{ins.src} & {_MASK[size]}"
            store = f"wb[_a - wd] = {value}" if size == 1 else \
                f"{_PACK[size]}(wb, _a - wd, {value})"
            return [f"_a = {addr}",
                    f"if not (wlo <= _a and _a + {size} <= whi):",
                    f"    wb, wlo, whi, wd = _wc(_a, {size}, {pc})",
                    store]
        if opc == op.LD_IMM64:
            return [f"{d} = {ins.imm & M64}"]
        # LD_ABS / LD_IND
        size = SIZES[opc & 0x18]
        if opc & 0xE0 == op.BPF_IND:
            off = f"((((r{ins.src} + {ins.imm}) & {M32}) ^ {S32}) - {S32})"
        else:
            off = str(ins.imm)
        return ["run.budget = n", f"r0 = _ldabs(run, {off}, {size}, {pc})"]

    @staticmethod
    def _atomic(ins, size: int, addr: str, pc: int) -> list[str]:
        """An atomic read-modify-write, inline, under the runtime's atomic lock."""
        mask = _MASK[size]
        src = f"r{ins.src}"
        aop = ins.imm
        load = f"_old = {_UNPACK[size]}(wb, _a - wd)[0]"
        put = _PACK[size]
        out = [f"_a = {addr}",
               f"if not (wlo <= _a and _a + {size} <= whi):",
               f"    wb, wlo, whi, wd = _wc(_a, {size}, {pc})",
               "with _ALOCK:",
               f"    {load}"]
        if aop == op.BPF_XCHG:
            out += [f"    {put}(wb, _a - wd, {src} & {mask})", f"    {src} = _old"]
        elif aop == op.BPF_CMPXCHG:
            out += [f"    if _old == r0 & {mask}: {put}(wb, _a - wd, {src} & {mask})",
                    "    r0 = _old"]
        else:
            base = aop & ~op.BPF_FETCH
            expr = {op.BPF_ADD: f"(_old + {src}) & {mask}", op.BPF_OR: f"(_old | {src}) & {mask}",
                    op.BPF_AND: f"_old & {src}", op.BPF_XOR: f"(_old ^ {src}) & {mask}"}[base]
            out.append(f"    {put}(wb, _a - wd, {expr})")
            if aop & op.BPF_FETCH:
                out.append(f"    {src} = _old")
        return out

    @staticmethod
    def _addr(reg: int, off: int) -> str:
        if off == 0:
            return f"r{reg}"
        return f"(r{reg} + {off}) & {M64}"

    @staticmethod
    def _alu(ins, d: str, is64: bool) -> str:
        opc = ins.opcode
        aop = opc & 0xF0
        m, bits = (M64, 64) if is64 else (M32, 32)
        if aop == op.BPF_END:  # ALU64 | END is an unconditional bswap
            if is64 or opc & op.BPF_TO_BE:
                return {16: f"{d} = (({d} & 0xFF) << 8) | (({d} >> 8) & 0xFF)",
                        32: f"{d} = _bswap32({d})", 64: f"{d} = _bswap64({d})"}[ins.imm]
            return {16: f"{d} &= 0xFFFF", 32: f"{d} &= {M32}", 64: "pass"}[ins.imm]
        if aop == op.BPF_NEG:
            return f"{d} = -{d} & {m}"
        is_x = bool(opc & op.BPF_X)
        b = f"r{ins.src}" if is_x else str(ins.imm & m)
        # the operands cut to the width (32-bit registers may hold 64-bit values)
        a = d if is64 else f"({d} & {M32})"
        bw = f"({b} & {M32})" if is_x and not is64 else b
        if aop == op.BPF_MOV:
            if is64 and is_x and ins.off == ADDR_SPACE_CAST:  # the arena address of the low 32 bits
                hi = (ins.imm & 0x7FFF_FFFF) << 32
                return f"{d} = ({hi} | ({b} & 0xFFFFFFFF)) if {b} & 0xFFFFFFFF else 0"
            if is_x and ins.off:
                sign = 1 << (ins.off - 1)
                return f"{d} = ((({b} & {(1 << ins.off) - 1}) ^ {sign}) - {sign}) & {m}"
            return f"{d} = {bw}"
        if aop in (op.BPF_DIV, op.BPF_MOD):
            return _divmod(aop, ins, d, a, b, bw, is_x, bits)
        sh = f"({b} & {bits - 1})" if is_x else str(ins.imm & (bits - 1))
        template = _ALU[is64].get(aop)
        if template is None:
            raise RuntimeFault(f"unknown ALU{'64' if is64 else ''} opcode {opc:#x}")
        return template.format(d=d, a=a, b=b, bw=bw, m=m, sh=sh, s=S64 if is64 else S32)
