"""The LLVM assembler syntax, as :func:`ebpf.isa.disassemble` and ``llvm-objdump``
print it (``r1 = *(u32 *)(r10 - 0x4)``, ``if r1 == 0x0 goto +0x2``, ``r1 = 0x1234 ll``),
and the ``.insn`` escape for any encodable instruction."""

from __future__ import annotations

import re

from .. import opcodes as op
from ..codec import BPF_JCOND, BPF_LOAD_ACQ, BPF_STORE_REL
from ..instruction import FunctionReference, Instruction, KsymReference, MapReference, Reference
from .base import (
    NUM_RE,
    REG_RE,
    AsmState,
    Fixup,
    ParseError,
    check_off16,
    parse_imm32,
    parse_imm64,
    parse_int,
    parse_reg,
)

__all__ = ["LLVMSyntax"]


_R = r"([rw]\d+)"
_N = r"([+-]?\s*(?:0[xX][0-9a-fA-F]+|\d+))"
_T = r"([+-]\s*(?:0[xX][0-9a-fA-F]+|\d+)|[A-Za-z_.$][\w.$]*)"
_SZ = {"8": op.BPF_B, "16": op.BPF_H, "32": op.BPF_W, "64": op.BPF_DW}
_MEMP = r"\(\s*([us])(8|16|32|64)\s*\*\s*\)\s*\(\s*" + _R + r"\s*(?:([+-])\s*(0[xX][0-9a-fA-F]+|\d+)\s*)?\)"
_MEM = r"\*\s*" + _MEMP
_ALU_OPS = {"+": op.BPF_ADD, "-": op.BPF_SUB, "*": op.BPF_MUL, "/": op.BPF_DIV, "|": op.BPF_OR,
            "&": op.BPF_AND, "<<": op.BPF_LSH, ">>": op.BPF_RSH, "%": op.BPF_MOD, "^": op.BPF_XOR,
            "s>>": op.BPF_ARSH, "s/": op.BPF_DIV, "s%": op.BPF_MOD}
JMP_OPS = {"==": op.BPF_JEQ, ">": op.BPF_JGT, ">=": op.BPF_JGE, "&": op.BPF_JSET, "!=": op.BPF_JNE,
            "s>": op.BPF_JSGT, "s>=": op.BPF_JSGE, "<": op.BPF_JLT, "<=": op.BPF_JLE,
            "s<": op.BPF_JSLT, "s<=": op.BPF_JSLE}
_ATOMIC_OPS = {"+=": op.BPF_ADD, "|=": op.BPF_OR, "&=": op.BPF_AND, "^=": op.BPF_XOR}
ATOMIC_NAMES = {"add": op.BPF_ADD, "or": op.BPF_OR, "and": op.BPF_AND, "xor": op.BPF_XOR}


def _c(p: str) -> re.Pattern[str]:
    return re.compile(r"^" + p + r"$")


_L_ALU = _c(_R + r"\s*(s>>|s/|s%|<<|>>|[-+*/|&%^])=\s*(.+?)")
_L_MOV = _c(_R + r"\s*=\s*(?:\(\s*s(8|16|32)\s*\)\s*)?" + _R)
_L_MOVK = _c(_R + r"\s*=\s*" + _N)
_L_NEG = _c(_R + r"\s*=\s*-\s*" + _R)
_L_END = _c(_R + r"\s*=\s*(le|be|bswap)(16|32|64)\s+" + _R)
_L_LDDW = _c(r"r(\d+)\s*=\s*(.+?)\s+ll")
_L_LDPSEUDO = _c(r"ld_pseudo\s+r(\d+)\s*,\s*" + _N + r"\s*,\s*" + _N)
_L_CAST = _c(r"r(\d+)\s*=\s*addr_space_cast\s*\(\s*r(\d+)\s*,\s*" + _N + r"\s*,\s*" + _N + r"\s*\)")
_L_SKB = _c(r"r0\s*=\s*\*\s*\(\s*u(8|16|32)\s*\*\s*\)\s*skb\s*\[\s*(.+?)\s*\]")
_L_LOAD = _c(_R + r"\s*=\s*" + _MEM)
_L_STORE = _c(_MEM + r"\s*=\s*(.+?)")
_L_LOCK = _c(r"lock\s+" + _MEM + r"\s*([-+|&^]=)\s*" + _R)
_L_FETCH = _c(_R + r"\s*=\s*atomic_fetch_(add|or|and|xor)\s*\(\s*" + _MEMP + r"\s*,\s*" + _R + r"\s*\)")
_L_XCHG = _c(_R + r"\s*=\s*xchg(32_32|_64)\s*\(\s*" + _R + r"\s*(?:([+-])\s*(0[xX][0-9a-fA-F]+|\d+)\s*)?,\s*"
             + _R + r"\s*\)")
_L_CMPXCHG = _c(_R + r"\s*=\s*cmpxchg(32_32|_64)\s*\(\s*" + _R
                + r"\s*(?:([+-])\s*(0[xX][0-9a-fA-F]+|\d+)\s*)?,\s*" + _R + r"\s*,\s*" + _R + r"\s*\)")
_L_LOADACQ = _c(_R + r"\s*=\s*load_acquire\s*\(\s*" + _MEMP + r"\s*\)")
_L_STOREREL = _c(r"store_release\s*\(\s*" + _MEMP + r"\s*,\s*" + _R + r"\s*\)")
_L_IF = _c(r"if\s+" + _R + r"\s*(s<=|s>=|s<|s>|==|!=|<=|>=|<|>|&)\s*(.+?)\s+goto\s+" + _T)
_L_GOTO = _c(r"(goto|gotol|may_goto)\s+" + _T)
_L_CALL = _c(r"call\s+(.+?)")
_L_CALL_ANNOTATED = _c(r"call\s+" + _N + r"\s*<([^<>\s]+)>")
_L_CALLX = _c(r"callx\s+" + _R)
_L_INSN = _c(r"\.insn\s+opcode=(\S+)\s+dst=(\S+)\s+src=(\S+)\s+off=(\S+)\s+imm=(\S+)")


def _memop(sign_kind: str, bits: str, base: str, sign: str | None, num: str | None) -> tuple[int, int]:
    reg, kind = parse_reg(base)
    if kind != "r":
        raise ParseError(f"memory base must be a 64-bit register, got {base!r}")
    off = 0
    if num is not None:
        value, _ = parse_int(num, "offset")
        off = check_off16(-value if sign == "-" else value, f"{sign}{num}")
    return reg, off


class LLVMSyntax(AsmState):
    """The LLVM syntax: :meth:`llvm` assembles one statement, or returns False."""

    def llvm(self, s: str) -> bool:
        m = _L_IF.match(s)
        if m:
            dst, kind = parse_reg(m.group(1))
            cls = op.BPF_JMP if kind == "r" else op.BPF_JMP32
            code = cls | JMP_OPS[m.group(2)]
            rhs = m.group(3).strip()
            if REG_RE.match(rhs):
                src, _ = parse_reg(rhs, kind)
                ins = self.emit(Instruction(code | op.BPF_X, dst=dst, src=src))
            else:
                ins = self.emit(Instruction(code, dst=dst, imm=parse_imm32(rhs)))
            self.target(ins, m.group(4), "off")
            return True
        m = _L_GOTO.match(s)
        if m:
            kw = m.group(1)
            if kw == "gotol":
                ins = self.emit(Instruction(op.JA32))
                self.target(ins, m.group(2), "imm")
            else:
                ins = self.emit(Instruction(op.JA if kw == "goto" else op.BPF_JMP | BPF_JCOND))
                self.target(ins, m.group(2), "off")
            return True
        if s == "exit":
            self.emit(Instruction(op.EXIT))
            return True
        m = _L_CALLX.match(s)
        if m:
            self.emit(Instruction(op.CALLX, dst=parse_reg(m.group(1), "r")[0]))
            return True
        m = _L_CALL_ANNOTATED.match(s)
        if m:
            self._annotated_call(m.group(1), m.group(2))
            return True
        m = _L_CALL.match(s)
        if m:
            arg = m.group(1).strip()
            if arg.startswith("local "):
                return False  # conformance syntax
            if REG_RE.match(arg):
                return False  # conformance: call %rN
            if NUM_RE.match(arg):
                self.emit(Instruction(op.CALL, imm=parse_imm32(arg)))
            elif re.fullmatch(r"[A-Za-z_.$][\w.$]*", arg):
                ins = self.emit(Instruction(op.CALL, src=op.BPF_PSEUDO_CALL, imm=-1,
                                            reference=FunctionReference(arg)))
                self.target(ins, arg, "imm")
            else:
                raise ParseError(f"invalid call target {arg!r}")
            return True
        m = _L_LDDW.match(s)
        if m:
            dst = parse_reg("r" + m.group(1))[0]
            value = m.group(2).strip()
            if NUM_RE.match(value):
                self.emit(Instruction(op.LD_IMM64, dst=dst, imm=parse_imm64(value)))
            elif re.fullmatch(r"[A-Za-z_.$][\w.$]*", value):
                # a symbol: a label here is a function address (src=BPF_PSEUDO_FUNC,
                # resolved below); anything else is left for the loader (a map, usually)
                self.emit(Instruction(op.LD_IMM64, dst=dst, reference=MapReference(value)))
                self.fixups.append(Fixup(len(self.insns) - 1, value, self.line, "symbol"))
            else:
                raise ParseError(f"invalid lddw operand {value!r}")
            return True
        m = _L_LDPSEUDO.match(s)
        if m:
            src, _ = parse_int(m.group(2), "pseudo source")
            if not 0 <= src <= 15:
                raise ParseError(f"ld_pseudo source {src} out of range")
            self.emit(Instruction(op.LD_IMM64, dst=parse_reg("r" + m.group(1))[0], src=src,
                                  imm=parse_imm64(m.group(3))))
            return True
        m = _L_SKB.match(s)
        if m:
            size = _SZ[m.group(1)]
            inner = m.group(2)
            mm = re.fullmatch(r"(r\d+)\s*(?:([+-])\s*(-?\s*(?:0[xX][0-9a-fA-F]+|\d+)))?", inner)
            if mm:
                src = parse_reg(mm.group(1), "r")[0]
                imm = 0
                if mm.group(3):  # "r3 + 4", "r3 - 0x4", and the kernel's "r3 + -4"
                    value, _ = parse_int(mm.group(3), "immediate")
                    imm = parse_imm32(str(-value if mm.group(2) == "-" else value))
                self.emit(Instruction(op.BPF_LD | op.BPF_IND | size, src=src, imm=imm))
            else:
                self.emit(Instruction(op.BPF_LD | op.BPF_ABS | size, imm=parse_imm32(inner)))
            return True
        m = _L_LOCK.match(s)
        if m:
            sk, bits, base, sign, num, sym, reg = m.groups()
            if sk != "u" or bits not in ("32", "64"):
                raise ParseError(f"atomic operations need u32 or u64, got {sk}{bits}")
            if sym not in _ATOMIC_OPS:
                raise ParseError(f"'lock ... {sym}' is not an eBPF atomic operation: lock takes "
                             f"{', '.join(_ATOMIC_OPS)} (to subtract, add the negated value)")
            dst, off = _memop(sk, bits, base, sign, num)
            src, kind = parse_reg(reg)
            if bits == "64" and kind != "r":
                raise ParseError("64-bit atomic needs a 64-bit register")
            self.emit(Instruction(op.BPF_STX | op.BPF_ATOMIC | _SZ[bits], dst=dst, src=src, off=off,
                                  imm=_ATOMIC_OPS[sym]))
            return True
        m = _L_FETCH.match(s)
        if m:
            out, name, sk, bits, base, sign, num, reg = m.groups()
            if sk != "u" or bits not in ("32", "64"):
                raise ParseError(f"atomic operations need u32 or u64, got {sk}{bits}")
            if out != reg:
                raise ParseError(f"atomic_fetch_{name} must return into its source register ({reg})")
            dst, off = _memop(sk, bits, base, sign, num)
            src, kind = parse_reg(reg, "r" if bits == "64" else "w")
            self.emit(Instruction(op.BPF_STX | op.BPF_ATOMIC | _SZ[bits], dst=dst, src=src, off=off,
                                  imm=ATOMIC_NAMES[name] | op.BPF_FETCH))
            return True
        m = _L_XCHG.match(s)
        if m:
            out, width, base, sign, num, reg = m.groups()
            w = "w" if width == "32_32" else "r"
            if out != reg:
                raise ParseError(f"xchg must return into its source register ({reg})")
            dst, off = _memop("u", "", base, sign, num)
            src, _ = parse_reg(reg, w)
            size = op.BPF_W if w == "w" else op.BPF_DW
            self.emit(Instruction(op.BPF_STX | op.BPF_ATOMIC | size, dst=dst, src=src, off=off, imm=op.BPF_XCHG))
            return True
        m = _L_CMPXCHG.match(s)
        if m:
            out, width, base, sign, num, r0, reg = m.groups()
            w = "w" if width == "32_32" else "r"
            if out != f"{w}0" or r0 != f"{w}0":
                raise ParseError(f"cmpxchg compares and returns {w}0")
            dst, off = _memop("u", "", base, sign, num)
            src, _ = parse_reg(reg, w)
            size = op.BPF_W if w == "w" else op.BPF_DW
            self.emit(Instruction(op.BPF_STX | op.BPF_ATOMIC | size, dst=dst, src=src, off=off,
                                  imm=op.BPF_CMPXCHG))
            return True
        m = _L_LOADACQ.match(s)
        if m:
            out, sk, bits, base, sign, num = m.groups()
            return self._ordered(True, sk, bits, base, sign, num, out)
        m = _L_STOREREL.match(s)
        if m:
            sk, bits, base, sign, num, reg = m.groups()
            return self._ordered(False, sk, bits, base, sign, num, reg)
        m = _L_LOAD.match(s)
        if m:
            out, sk, bits, base, sign, num = m.groups()
            src, off = _memop(sk, bits, base, sign, num)
            dst, kind = parse_reg(out)
            if sk == "s":
                if bits == "64":
                    raise ParseError("there is no sign-extending 64-bit load (use u64)")
                if kind != "r":
                    raise ParseError("sign-extending loads write a 64-bit register")
                mode = op.BPF_MEMSX
            else:
                if kind == "w" and bits == "64":
                    raise ParseError("a 64-bit load needs a 64-bit register")
                mode = op.BPF_MEM
            self.emit(Instruction(op.BPF_LDX | mode | _SZ[bits], dst=dst, src=src, off=off))
            return True
        m = _L_STORE.match(s)
        if m:
            sk, bits, base, sign, num, rhs = m.groups()
            if sk != "u":
                raise ParseError("stores take unsigned sizes (u8/u16/u32/u64)")
            dst, off = _memop(sk, bits, base, sign, num)
            rhs = rhs.strip()
            if REG_RE.match(rhs):
                src, kind = parse_reg(rhs)
                if kind == "w" and bits == "64":
                    raise ParseError("a 64-bit store needs a 64-bit register")
                self.emit(Instruction(op.BPF_STX | op.BPF_MEM | _SZ[bits], dst=dst, src=src, off=off))
            else:
                self.emit(Instruction(op.BPF_ST | op.BPF_MEM | _SZ[bits], dst=dst, off=off, imm=parse_imm32(rhs)))
            return True
        m = _L_CAST.match(s)
        if m:
            a, _ = parse_int(m.group(3), "address space")
            b, _ = parse_int(m.group(4), "address space")
            if not (0 <= a <= 0xFFFF and 0 <= b <= 0xFFFF):
                raise ParseError("address spaces must fit in 16 bits")
            self.emit(Instruction(op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, dst=parse_reg("r" + m.group(1))[0],
                                  src=parse_reg("r" + m.group(2))[0], off=1, imm=(a << 16) | b))
            return True
        m = _L_END.match(s)
        if m:
            dst, _ = parse_reg(m.group(1), "r")
            kind, bits, operand = m.group(2), int(m.group(3)), m.group(4)
            if parse_reg(operand, "r")[0] != dst:
                raise ParseError("byte swap operates on one register (rN = le16 rN)")
            code = {"le": op.BPF_ALU | op.BPF_END | op.BPF_TO_LE, "be": op.BPF_ALU | op.BPF_END | op.BPF_TO_BE,
                    "bswap": op.BPF_ALU64 | op.BPF_END | op.BPF_TO_LE}[kind]
            self.emit(Instruction(code, dst=dst, imm=bits))
            return True
        m = _L_NEG.match(s)
        if m:
            dst, kind = parse_reg(m.group(1))
            src, kind2 = parse_reg(m.group(2), kind)
            if src != dst:
                raise ParseError("negation operates on one register (rN = -rN)")
            cls = op.BPF_ALU64 if kind == "r" else op.BPF_ALU
            self.emit(Instruction(cls | op.BPF_NEG, dst=dst))
            return True
        m = _L_MOV.match(s)
        if m:
            dst, kind = parse_reg(m.group(1))
            src, _ = parse_reg(m.group(3), kind)
            cls = op.BPF_ALU64 if kind == "r" else op.BPF_ALU
            off = int(m.group(2)) if m.group(2) else 0
            self.emit(Instruction(cls | op.BPF_MOV | op.BPF_X, dst=dst, src=src, off=off))
            return True
        m = _L_MOVK.match(s)
        if m:
            dst, kind = parse_reg(m.group(1))
            cls = op.BPF_ALU64 if kind == "r" else op.BPF_ALU
            self.emit(Instruction(cls | op.BPF_MOV | op.BPF_K, dst=dst, imm=parse_imm32(m.group(2))))
            return True
        m = _L_ALU.match(s)
        if m:
            dst, kind = parse_reg(m.group(1))
            sym, rhs = m.group(2), m.group(3).strip()
            cls = op.BPF_ALU64 if kind == "r" else op.BPF_ALU
            off = 1 if sym in ("s/", "s%") else 0
            if REG_RE.match(rhs):
                src, _ = parse_reg(rhs, kind)
                self.emit(Instruction(cls | _ALU_OPS[sym] | op.BPF_X, dst=dst, src=src, off=off))
            else:
                self.emit(Instruction(cls | _ALU_OPS[sym], dst=dst, off=off, imm=parse_imm32(rhs)))
            return True
        m = _L_INSN.match(s)
        if m:
            opcode, dst, src, off, imm = (parse_int(g, "field")[0] for g in m.groups())
            self.emit(Instruction(opcode, dst=dst, src=src, off=off, imm=imm))
            self.unchecked = True  # a raw escape: encode's range checks only
            return True
        return False

    def _ordered(self, load: bool, sk: str, bits: str, base: str, sign: str | None,
                 num: str | None, reg: str) -> bool:
        """``load_acquire`` (``load``) or ``store_release``: an atomic with
        BPF_LOAD_ACQ / BPF_STORE_REL between ``reg`` and the memory operand."""
        if sk != "u":
            raise ParseError("load_acquire loads unsigned values" if load
                             else "store_release stores unsigned values")
        mem, off = _memop(sk, bits, base, sign, num)
        r, _ = parse_reg(reg, "r" if bits == "64" else "w")
        dst, src = (r, mem) if load else (mem, r)
        self.emit(Instruction(op.BPF_STX | op.BPF_ATOMIC | _SZ[bits], dst=dst, src=src, off=off,
                              imm=BPF_LOAD_ACQ if load else BPF_STORE_REL))
        return True

    def _annotated_call(self, number: str, note: str) -> None:
        """``call IMM <annotation>`` as disassemble prints non-helper calls."""
        imm = parse_imm32(number)
        parts = note.split(":")
        off = 0
        if parts[-1].startswith("off="):
            value, _ = parse_int(parts.pop()[4:], "call offset")
            off = check_off16(value, str(value))
        kind = parts[0]
        ref: Reference | None
        if kind == "kfunc":
            name = ":".join(parts[1:])
            ref = KsymReference(name, kfunc=True) if name else None
            self.emit(Instruction(op.CALL, src=op.BPF_PSEUDO_KFUNC_CALL, off=off, imm=imm, reference=ref))
        elif kind.startswith("src="):
            src, _ = parse_int(kind[4:], "call source")
            self.emit(Instruction(op.CALL, src=src & 0xF, off=off, imm=imm))
        else:
            name = ":".join(parts)
            ref = None if re.fullmatch(r"pc[+-](0[xX][0-9a-fA-F]+|\d+)", name) else FunctionReference(name)
            self.emit(Instruction(op.CALL, src=op.BPF_PSEUDO_CALL, off=off, imm=imm, reference=ref))
