"""IR for ALU operations and jump conditions, with the ISA's semantics: 32-bit
results zero-extended, shift amounts masked, ``x / 0 = 0``, ``x % 0 = x``,
``INT_MIN / -1`` wrapping, byte swaps, sign-extending moves."""

from __future__ import annotations

from ...isa import opcodes as op
from ..code import ADDR_SPACE_CAST
from .irbase import Emitter, signed


class AluEmitter(Emitter):
    """ALU and comparison instructions."""

    def _operands(self, ins, is64: bool) -> tuple[str, str, str]:
        """(a, b, type) with 32-bit operands truncated."""
        a = self.reg(ins.dst)
        if ins.opcode & op.BPF_X:
            b = self.reg(ins.src)
        else:
            b = str(signed(ins.imm, 64 if is64 else 32))
        if is64:
            return a, b, "i64"
        a32 = self.let(f"trunc i64 {a} to i32")
        if ins.opcode & op.BPF_X:
            b32 = self.let(f"trunc i64 {b} to i32")
            b = b32
        return a32, b, "i32"

    def _cond(self, ins) -> str:
        is64 = (ins.opcode & 7) == op.BPF_JMP
        a, b, t = self._operands(ins, is64)
        jop = ins.opcode & 0xF0
        c = self.tmp()
        if jop == op.BPF_JSET:
            x = self.let(f"and {t} {a}, {b}")
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
            if opc & op.BPF_X and is64 and ins.off == ADDR_SPACE_CAST:
                # the arena address of the low 32 bits (0 stays 0), see vm.code
                v = self.reg(ins.src)
                lo = self.let(f"and i64 {v}, 4294967295")
                full = self.let(f"or i64 {lo}, {signed((ins.imm & 0x7FFF_FFFF) << 32, 64)}")
                nz = self.let(f"icmp ne i64 {lo}, 0")
                sel = self.let(f"select i1 {nz}, i64 {full}, i64 0")
                self.setreg(d, sel)
                return
            if opc & op.BPF_X:
                v = self.reg(ins.src)
                if ins.off:
                    t = self.let(f"trunc i64 {v} to i{ins.off}")
                    s = self.let(f"sext i{ins.off} {t} to {'i64' if is64 else 'i32'}")
                    v = s
                    if not is64:
                        z = self.let(f"zext i32 {v} to i64")
                        v = z
                elif not is64:
                    v = self._zext32(v)
            else:
                v = str(signed(ins.imm, 64) if is64 else ins.imm & 0xFFFF_FFFF)
            self.setreg(d, v)
            return
        if aop == op.BPF_NEG:
            a = self.reg(d)
            t = "i64"
            if not is64:
                a = self._trunc32(a)
                t = "i32"
            r = self.let(f"sub {t} 0, {a}")
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
                sh = self.let(f"and {t} {b}, {bits - 1}")
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
        zero = self.let(f"icmp eq {t} {b}, 0")
        if signed:
            m1 = self.let(f"icmp eq {t} {b}, -1")
            special = self.let(f"or i1 {zero}, {m1}")
            bs = self.let(f"select i1 {special}, {t} 1, {t} {b}")
            q = self.tmp()
            r = self.tmp()
            if aop == op.BPF_DIV:
                self.e(f"{q} = sdiv {t} {a}, {bs}")
                neg = self.let(f"sub {t} 0, {a}")
                q2 = self.let(f"select i1 {m1}, {t} {neg}, {t} {q}")
                self.e(f"{r} = select i1 {zero}, {t} 0, {t} {q2}")
            else:
                self.e(f"{q} = srem {t} {a}, {bs}")
                q2 = self.let(f"select i1 {m1}, {t} 0, {t} {q}")
                self.e(f"{r} = select i1 {zero}, {t} {a}, {t} {q2}")
            return r
        bs = self.let(f"select i1 {zero}, {t} 1, {t} {b}")
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
            s = self.let(f"call i{width} @llvm.bswap.i{width}(i{width} {t})")
            t = s
        if width < 64:
            z = self.let(f"zext i{width} {t} to i64")
            t = z
        self.setreg(ins.dst, t)
