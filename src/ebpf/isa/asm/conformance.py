"""The conformance-suite assembler syntax (ubpf style; see the suite's README):
``mov32 %r0, 1``, ``ldxw %r1, [%r10-4]``, ``jne %r1, 0x2211, fail``,
``lock fetch add [%r10-8], %r1``, ``call local func1``."""

from __future__ import annotations

import re

from .. import opcodes as op
from ..instruction import FunctionReference, Instruction
from .base import (
    REG_RE,
    AsmState,
    ParseError,
    check_off16,
    parse_imm32,
    parse_imm64,
    parse_int,
    parse_reg,
)
from .llvm import ATOMIC_NAMES, JMP_OPS

__all__ = ["ConformanceSyntax"]

_CONF_JMP = {"eq": "==", "gt": ">", "ge": ">=", "lt": "<", "le": "<=", "set": "&", "ne": "!=",
             "sgt": "s>", "sge": "s>=", "slt": "s<", "sle": "s<="}
_CONF_SZ = {"b": op.BPF_B, "h": op.BPF_H, "w": op.BPF_W, "dw": op.BPF_DW}
_CONF_ALU = {"add": op.BPF_ADD, "sub": op.BPF_SUB, "mul": op.BPF_MUL, "div": op.BPF_DIV, "or": op.BPF_OR,
             "and": op.BPF_AND, "lsh": op.BPF_LSH, "rsh": op.BPF_RSH, "mod": op.BPF_MOD, "xor": op.BPF_XOR,
             "mov": op.BPF_MOV, "arsh": op.BPF_ARSH}
_CONF_MEM_RE = re.compile(r"^\[\s*(%?r\d+)\s*(?:([+-])\s*(0[xX][0-9a-fA-F]+|\d+)\s*)?\]$")


def _conf_mem(text: str) -> tuple[int, int]:
    m = _CONF_MEM_RE.match(text.strip())
    if not m:
        raise ParseError(f"invalid memory operand {text.strip()!r} (expected [%rN+off])")
    reg = parse_reg(m.group(1), "r")[0]
    off = 0
    if m.group(3):
        value, _ = parse_int(m.group(3), "offset")
        off = check_off16(-value if m.group(2) == "-" else value, m.group(2) + m.group(3))
    return reg, off



class ConformanceSyntax(AsmState):
    """The conformance syntax: :meth:`conformance` assembles one statement, or
    returns False."""

    def conformance(self, s: str) -> bool:
        parts = s.split(None, 1)
        mnem = parts[0].lower()
        rest = parts[1] if len(parts) > 1 else ""
        ops = [o.strip() for o in rest.split(",")] if rest.strip() else []

        def want(n: int) -> None:
            if len(ops) != n:
                raise ParseError(f"Invalid number of operands for {mnem}: expected {n}, got {len(ops)}")

        if mnem == "lock":
            return self._lock(rest)
        if mnem == "exit":
            want(0)
            self.emit(Instruction(op.EXIT))
            return True
        if mnem == "call":
            if rest.startswith("local"):
                label = rest[5:].strip()
                if not label or " " in label:
                    raise ParseError("call local needs one label")
                ins = self.emit(Instruction(op.CALL, src=op.BPF_PSEUDO_CALL, reference=FunctionReference(label)))
                self.target(ins, label, "imm")
                return True
            want(1)
            if REG_RE.match(ops[0]):
                self.emit(Instruction(op.CALLX, dst=parse_reg(ops[0], "r")[0]))
            else:
                self.emit(Instruction(op.CALL, imm=parse_imm32(ops[0], conformance=True)))
            return True
        if mnem == "callx":
            want(1)
            self.emit(Instruction(op.CALLX, dst=parse_reg(ops[0], "r")[0]))
            return True
        if mnem == "lddw":
            want(2)
            self.emit(Instruction(op.LD_IMM64, dst=parse_reg(ops[0], "r")[0], imm=parse_imm64(ops[1])))
            return True
        if mnem in ("ja", "ja32"):
            want(1)
            if mnem == "ja":
                ins = self.emit(Instruction(op.JA))
                self.target(ins, ops[0], "off")
            else:
                ins = self.emit(Instruction(op.JA32))
                self.target(ins, ops[0], "imm")
            return True
        m = re.fullmatch(r"j(eq|gt|ge|lt|le|set|ne|sgt|sge|slt|sle)(32)?", mnem)
        if m:
            want(3)
            code = (op.BPF_JMP32 if m.group(2) else op.BPF_JMP) | JMP_OPS[_CONF_JMP[m.group(1)]]
            dst = parse_reg(ops[0], "r")[0]
            if REG_RE.match(ops[1]):
                ins = self.emit(Instruction(code | op.BPF_X, dst=dst, src=parse_reg(ops[1], "r")[0]))
            else:
                ins = self.emit(Instruction(code, dst=dst, imm=parse_imm32(ops[1], conformance=True)))
            self.target(ins, ops[2], "off")
            return True
        m = re.fullmatch(r"(ldx|st|stx)(b|h|w|dw)|ldxs(b|h|w)", mnem)
        if m:
            want(2)
            if mnem.startswith("ldx"):
                dst = parse_reg(ops[0], "r")[0]
                src, off = _conf_mem(ops[1])
                if m.group(3):
                    code = op.BPF_LDX | op.BPF_MEMSX | _CONF_SZ[m.group(3)]
                else:
                    code = op.BPF_LDX | op.BPF_MEM | _CONF_SZ[m.group(2)]
                self.emit(Instruction(code, dst=dst, src=src, off=off))
            elif m.group(1) == "st":
                dst, off = _conf_mem(ops[0])
                self.emit(Instruction(op.BPF_ST | op.BPF_MEM | _CONF_SZ[m.group(2)], dst=dst, off=off,
                                      imm=parse_imm32(ops[1], conformance=True)))
            else:
                dst, off = _conf_mem(ops[0])
                self.emit(Instruction(op.BPF_STX | op.BPF_MEM | _CONF_SZ[m.group(2)], dst=dst,
                                      src=parse_reg(ops[1], "r")[0], off=off))
            return True
        m = re.fullmatch(r"ld(abs|ind)(b|h|w)", mnem)
        if m:
            size = _CONF_SZ[m.group(2)]
            if m.group(1) == "abs":
                want(1)
                self.emit(Instruction(op.BPF_LD | op.BPF_ABS | size, imm=parse_imm32(ops[0], conformance=True)))
            else:
                want(2)
                self.emit(Instruction(op.BPF_LD | op.BPF_IND | size, src=parse_reg(ops[0], "r")[0],
                                      imm=parse_imm32(ops[1], conformance=True)))
            return True
        m = re.fullmatch(r"(be|le|bswap|swap)(16|32|64)", mnem)
        if m:
            want(1)
            code = {"le": op.BPF_ALU | op.BPF_END | op.BPF_TO_LE, "be": op.BPF_ALU | op.BPF_END | op.BPF_TO_BE,
                    }.get(m.group(1), op.BPF_ALU64 | op.BPF_END | op.BPF_TO_LE)
            self.emit(Instruction(code, dst=parse_reg(ops[0], "r")[0], imm=int(m.group(2))))
            return True
        m = re.fullmatch(r"movsx(8|16|32)(32|64)", mnem)
        if m:
            want(2)
            frm, to = int(m.group(1)), m.group(2)
            if to == "32" and frm == 32:
                raise ParseError("movsx3232 does not exist")
            cls = op.BPF_ALU if to == "32" else op.BPF_ALU64
            self.emit(Instruction(cls | op.BPF_MOV | op.BPF_X, dst=parse_reg(ops[0], "r")[0],
                                  src=parse_reg(ops[1], "r")[0], off=frm))
            return True
        m = re.fullmatch(r"(neg)(32|64)?", mnem)
        if m:
            want(1)
            cls = op.BPF_ALU if m.group(2) == "32" else op.BPF_ALU64
            self.emit(Instruction(cls | op.BPF_NEG, dst=parse_reg(ops[0], "r")[0]))
            return True
        m = re.fullmatch(r"(add|sub|mul|div|or|and|lsh|rsh|mod|xor|mov|arsh|sdiv|smod)(32|64)?", mnem)
        if m:
            want(2)
            name = m.group(1)
            cls = op.BPF_ALU if m.group(2) == "32" else op.BPF_ALU64
            off = 0
            if name in ("sdiv", "smod"):
                name, off = name[1:], 1
            code = cls | _CONF_ALU[name]
            dst = parse_reg(ops[0], "r")[0]
            if REG_RE.match(ops[1]):
                self.emit(Instruction(code | op.BPF_X, dst=dst, src=parse_reg(ops[1], "r")[0], off=off))
            else:
                self.emit(Instruction(code, dst=dst, off=off, imm=parse_imm32(ops[1], conformance=True)))
            return True
        return False

    def _lock(self, rest: str) -> bool:
        words = rest.split(None, 1)
        fetch = False
        if words and words[0].lower() == "fetch":
            fetch = True
            words = words[1].split(None, 1) if len(words) > 1 else []
        if len(words) < 2:
            raise ParseError("Invalid number of operands for lock")
        name = words[0].lower()
        ops = [o.strip() for o in words[1].split(",")]
        if len(ops) != 2:
            raise ParseError("Invalid number of operands for lock")
        m = re.fullmatch(r"(add|or|and|xor|xchg|cmpxchg)(32|64)?", name)
        if not m:
            raise ParseError(f"unknown lock operation {name!r}")
        size = op.BPF_W if m.group(2) == "32" else op.BPF_DW
        base = m.group(1)
        if base in ("xchg", "cmpxchg"):
            if fetch:
                raise ParseError(f"lock {base} always fetches; drop 'fetch'")
            imm = op.BPF_XCHG if base == "xchg" else op.BPF_CMPXCHG
        else:
            imm = ATOMIC_NAMES[base] | (op.BPF_FETCH if fetch else 0)
        dst, off = _conf_mem(ops[0])
        self.emit(Instruction(op.BPF_STX | op.BPF_ATOMIC | size, dst=dst, src=parse_reg(ops[1], "r")[0],
                              off=off, imm=imm))
        return True
