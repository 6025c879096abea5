"""Assembler: text to :class:`~ebpf.isa.Instruction` objects.

Two syntaxes are accepted, line by line, and may be mixed:

LLVM (what :func:`ebpf.isa.disassemble` and ``llvm-objdump`` print; hex or decimal
numbers, ``rN``/``wN`` registers)::

    r1 = *(u32 *)(r10 - 0x4)
    if r1 == 0x0 goto +0x2        # or: goto LBB0_2 / a label defined below
    lock *(u64 *)(r1 + 0x0) += r2
    r1 = 0x1234 ll
    call 0x1

The conformance-suite syntax (ubpf style; see the suite's README)::

    mov32 %r0, 1
    ldxw %r1, [%r10-4]
    jne %r1, 0x2211, fail
    lock fetch add [%r10-8], %r1
    call local func1

The Linux verifier's syntax, as its log and ``bpftool prog dump xlated`` print
instructions, is read too when the opcode byte is there: ``12: (07) r1 += -8``
(the text after ``;`` is a comment; state lines of a log are not instructions).

``.insn opcode=0x.. dst=N src=N off=N imm=N`` writes any encodable instruction
without validation (for deliberately malformed test programs; :func:`ebpf.isa.disassemble`
prints undefined opcodes that way).

Labels are ``name:`` (alone on a line or before an instruction). Jump targets
are labels or relative slot offsets (``+3``, ``-0x1``). Comments start with
``#`` or ``//``; ``;`` separates statements on one line, as in LLVM
(``"r0 = 1; exit"``, the way inline-asm strings are written). Lines pasted
from ``llvm-objdump -d`` work as they are: the leading ``N:`` slot number, the raw bytes and a trailing ``<label>``
annotation on jumps are ignored.

Errors raise :class:`~ebpf.errors.InstructionError` with ``line`` set.

>>> from ebpf.isa import assemble, encode
>>> encode(assemble("mov %r0, 1\\nexit")).hex()
'b7000000010000009500000000000000'
>>> assemble("w0 = 2\\nexit") == assemble("mov32 %r0, 2\\nexit")
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InstructionError
from . import opcodes as op
from .codec import BPF_JCOND, BPF_LOAD_ACQ, BPF_STORE_REL, validate
from .instruction import FunctionReference, Instruction, KsymReference, MapReference

__all__ = ["assemble"]


@dataclass
class _Fixup:
    index: int  # instruction index
    label: str
    line: int
    field: str  # "off", "imm", or "symbol" (an lddw of a name)


class _Error(Exception):
    """Internal: a parse error on the current line (turned into InstructionError)."""


# --- numbers and registers -------------------------------------------------

_NUM_RE = re.compile(r"^([+-]?)\s*(0[xX][0-9a-fA-F]+|\d+)$")


def _parse_int(text: str, what: str = "number") -> tuple[int, bool]:
    """(value, was_hex)."""
    m = _NUM_RE.match(text.strip())
    if not m:
        raise _Error(f"invalid {what} {text.strip()!r}")
    sign, digits = m.groups()
    is_hex = digits[:2].lower() == "0x"
    if len(digits) > 40:  # far beyond 64 bits (and int() refuses huge decimal strings)
        raise _Error(f"{what} {text.strip()[:24]}... is out of range")
    value = int(digits, 16 if is_hex else 10)
    return (-value if sign == "-" else value), is_hex


def _imm32(text: str, *, conformance: bool = False) -> int:
    """A 32-bit immediate: signed decimal, or hex up to 0xffffffff (stored as signed)."""
    value, is_hex = _parse_int(text, "immediate")
    if conformance and not is_hex:
        ok = -(1 << 31) <= value < (1 << 31)
    else:
        ok = -(1 << 31) <= value < (1 << 32)
    if not ok:
        raise _Error(f"immediate {text.strip()} is out of 32-bit range")
    return value - (1 << 32) if value >= 1 << 31 else value


def _imm64(text: str) -> int:
    value, _ = _parse_int(text, "64-bit immediate")
    if not -(1 << 63) <= value < (1 << 64):
        raise _Error(f"immediate {text.strip()} is out of 64-bit range")
    return value & 0xFFFFFFFFFFFFFFFF


def _off16(value: int, text: str) -> int:
    if not -0x8000 <= value <= 0x7FFF:
        raise _Error(f"offset {text.strip()} is out of 16-bit range")
    return value


_REG_RE = re.compile(r"^%?([rw])(\d+)$")


def _reg(text: str, width: str | None = None) -> tuple[int, str]:
    """Parse ``rN``/``wN``/``%rN``; returns (number, 'r' or 'w')."""
    m = _REG_RE.match(text.strip())
    if not m:
        raise _Error(f"Invalid register {text.strip()!r}")
    kind, num = m.group(1), int(m.group(2))
    if num > 10:
        raise _Error(f"Invalid register {text.strip()!r}")
    if width is not None and kind != width:
        raise _Error(f"expected a {'64' if width == 'r' else '32'}-bit register, got {text.strip()!r}")
    return num, kind


# --- LLVM syntax -----------------------------------------------------------

_R = r"([rw]\d+)"
_N = r"([+-]?\s*(?:0[xX][0-9a-fA-F]+|\d+))"
_T = r"([+-]\s*(?:0[xX][0-9a-fA-F]+|\d+)|[A-Za-z_.$][\w.$]*)"
_SZ = {"8": op.BPF_B, "16": op.BPF_H, "32": op.BPF_W, "64": op.BPF_DW}
_MEMP = r"\(\s*([us])(8|16|32|64)\s*\*\s*\)\s*\(\s*" + _R + r"\s*(?:([+-])\s*(0[xX][0-9a-fA-F]+|\d+)\s*)?\)"
_MEM = r"\*\s*" + _MEMP
_ALU_OPS = {"+": op.BPF_ADD, "-": op.BPF_SUB, "*": op.BPF_MUL, "/": op.BPF_DIV, "|": op.BPF_OR,
            "&": op.BPF_AND, "<<": op.BPF_LSH, ">>": op.BPF_RSH, "%": op.BPF_MOD, "^": op.BPF_XOR,
            "s>>": op.BPF_ARSH, "s/": op.BPF_DIV, "s%": op.BPF_MOD}
_JMP_OPS = {"==": op.BPF_JEQ, ">": op.BPF_JGT, ">=": op.BPF_JGE, "&": op.BPF_JSET, "!=": op.BPF_JNE,
            "s>": op.BPF_JSGT, "s>=": op.BPF_JSGE, "<": op.BPF_JLT, "<=": op.BPF_JLE,
            "s<": op.BPF_JSLT, "s<=": op.BPF_JSLE}
_ATOMIC_OPS = {"+=": op.BPF_ADD, "|=": op.BPF_OR, "&=": op.BPF_AND, "^=": op.BPF_XOR}
_ATOMIC_NAMES = {"add": op.BPF_ADD, "or": op.BPF_OR, "and": op.BPF_AND, "xor": op.BPF_XOR}


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
    reg, kind = _reg(base)
    if kind != "r":
        raise _Error(f"memory base must be a 64-bit register, got {base!r}")
    off = 0
    if num is not None:
        value, _ = _parse_int(num, "offset")
        off = _off16(-value if sign == "-" else value, f"{sign}{num}")
    return reg, off


class _Assembler:
    def __init__(self) -> None:
        self.insns: list[Instruction] = []
        self.lines: list[int] = []
        self.slot = 0
        self.labels: dict[str, int] = {}  # label -> slot
        self.fixups: list[_Fixup] = []
        self.line = 0
        self.unchecked = False

    # helpers
    def emit(self, ins: Instruction) -> Instruction:
        self.insns.append(ins)
        self.lines.append(self.line)
        self.slot += ins.size
        return ins

    def target(self, ins: Instruction, text: str, field: str) -> None:
        text = text.strip()
        if text[:1] in "+-":
            value, _ = _parse_int(text, "jump offset")
            if field == "off":
                value = _off16(value, text)
            elif not -(1 << 31) <= value < (1 << 31):
                raise _Error(f"jump offset {text} is out of 32-bit range")
            setattr(ins, field, value)
            return
        if re.fullmatch(r"\d+|0[xX][0-9a-fA-F]+", text):
            raise _Error(f"jump target {text!r} must be a label or a signed offset (+N/-N)")
        if not re.fullmatch(r"[A-Za-z_.$][\w.$]*", text):
            raise _Error(f"invalid jump target {text!r}")
        self.fixups.append(_Fixup(len(self.insns) - 1, text, self.line, field))

    # LLVM syntax
    def llvm(self, s: str) -> bool:
        m = _L_IF.match(s)
        if m:
            dst, kind = _reg(m.group(1))
            cls = op.BPF_JMP if kind == "r" else op.BPF_JMP32
            code = cls | _JMP_OPS[m.group(2)]
            rhs = m.group(3).strip()
            if _REG_RE.match(rhs):
                src, _ = _reg(rhs, kind)
                ins = self.emit(Instruction(code | op.BPF_X, dst=dst, src=src))
            else:
                ins = self.emit(Instruction(code, dst=dst, imm=_imm32(rhs)))
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
            self.emit(Instruction(op.CALLX, dst=_reg(m.group(1), "r")[0]))
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
            if _REG_RE.match(arg):
                return False  # conformance: call %rN
            if _NUM_RE.match(arg):
                self.emit(Instruction(op.CALL, imm=_imm32(arg)))
            elif re.fullmatch(r"[A-Za-z_.$][\w.$]*", arg):
                ins = self.emit(Instruction(op.CALL, src=op.BPF_PSEUDO_CALL, imm=-1,
                                            reference=FunctionReference(arg)))
                self.target(ins, arg, "imm")
            else:
                raise _Error(f"invalid call target {arg!r}")
            return True
        m = _L_LDDW.match(s)
        if m:
            dst = _reg("r" + m.group(1))[0]
            value = m.group(2).strip()
            if _NUM_RE.match(value):
                self.emit(Instruction(op.LD_IMM64, dst=dst, imm=_imm64(value)))
            elif re.fullmatch(r"[A-Za-z_.$][\w.$]*", value):
                # a symbol: a label here is a function address (src=BPF_PSEUDO_FUNC,
                # resolved below); anything else is left for the loader (a map, usually)
                self.emit(Instruction(op.LD_IMM64, dst=dst, reference=MapReference(value)))
                self.fixups.append(_Fixup(len(self.insns) - 1, value, self.line, "symbol"))
            else:
                raise _Error(f"invalid lddw operand {value!r}")
            return True
        m = _L_LDPSEUDO.match(s)
        if m:
            src, _ = _parse_int(m.group(2), "pseudo source")
            if not 0 <= src <= 15:
                raise _Error(f"ld_pseudo source {src} out of range")
            self.emit(Instruction(op.LD_IMM64, dst=_reg("r" + m.group(1))[0], src=src,
                                  imm=_imm64(m.group(3))))
            return True
        m = _L_SKB.match(s)
        if m:
            size = _SZ[m.group(1)]
            inner = m.group(2)
            mm = re.fullmatch(r"(r\d+)\s*(?:([+-])\s*(-?\s*(?:0[xX][0-9a-fA-F]+|\d+)))?", inner)
            if mm:
                src = _reg(mm.group(1), "r")[0]
                imm = 0
                if mm.group(3):  # "r3 + 4", "r3 - 0x4", and the kernel's "r3 + -4"
                    value, _ = _parse_int(mm.group(3), "immediate")
                    imm = _imm32(str(-value if mm.group(2) == "-" else value))
                self.emit(Instruction(op.BPF_LD | op.BPF_IND | size, src=src, imm=imm))
            else:
                self.emit(Instruction(op.BPF_LD | op.BPF_ABS | size, imm=_imm32(inner)))
            return True
        m = _L_LOCK.match(s)
        if m:
            sk, bits, base, sign, num, sym, reg = m.groups()
            if sk != "u" or bits not in ("32", "64"):
                raise _Error(f"atomic operations need u32 or u64, got {sk}{bits}")
            if sym not in _ATOMIC_OPS:
                raise _Error(f"'lock ... {sym}' is not an eBPF atomic operation: lock takes "
                             f"{', '.join(_ATOMIC_OPS)} (to subtract, add the negated value)")
            dst, off = _memop(sk, bits, base, sign, num)
            src, kind = _reg(reg)
            if bits == "64" and kind != "r":
                raise _Error("64-bit atomic needs a 64-bit register")
            self.emit(Instruction(op.BPF_STX | op.BPF_ATOMIC | _SZ[bits], dst=dst, src=src, off=off,
                                  imm=_ATOMIC_OPS[sym]))
            return True
        m = _L_FETCH.match(s)
        if m:
            out, name, sk, bits, base, sign, num, reg = m.groups()
            if sk != "u" or bits not in ("32", "64"):
                raise _Error(f"atomic operations need u32 or u64, got {sk}{bits}")
            if out != reg:
                raise _Error(f"atomic_fetch_{name} must return into its source register ({reg})")
            dst, off = _memop(sk, bits, base, sign, num)
            src, kind = _reg(reg, "r" if bits == "64" else "w")
            self.emit(Instruction(op.BPF_STX | op.BPF_ATOMIC | _SZ[bits], dst=dst, src=src, off=off,
                                  imm=_ATOMIC_NAMES[name] | op.BPF_FETCH))
            return True
        m = _L_XCHG.match(s)
        if m:
            out, width, base, sign, num, reg = m.groups()
            w = "w" if width == "32_32" else "r"
            if out != reg:
                raise _Error(f"xchg must return into its source register ({reg})")
            dst, off = _memop("u", "", base, sign, num)
            src, _ = _reg(reg, w)
            size = op.BPF_W if w == "w" else op.BPF_DW
            self.emit(Instruction(op.BPF_STX | op.BPF_ATOMIC | size, dst=dst, src=src, off=off, imm=op.BPF_XCHG))
            return True
        m = _L_CMPXCHG.match(s)
        if m:
            out, width, base, sign, num, r0, reg = m.groups()
            w = "w" if width == "32_32" else "r"
            if out != f"{w}0" or r0 != f"{w}0":
                raise _Error(f"cmpxchg compares and returns {w}0")
            dst, off = _memop("u", "", base, sign, num)
            src, _ = _reg(reg, w)
            size = op.BPF_W if w == "w" else op.BPF_DW
            self.emit(Instruction(op.BPF_STX | op.BPF_ATOMIC | size, dst=dst, src=src, off=off,
                                  imm=op.BPF_CMPXCHG))
            return True
        m = _L_LOADACQ.match(s)
        if m:
            out, sk, bits, base, sign, num = m.groups()
            if sk != "u":
                raise _Error("load_acquire loads unsigned values")
            src, off = _memop(sk, bits, base, sign, num)
            dst, _ = _reg(out, "r" if bits == "64" else "w")
            self.emit(Instruction(op.BPF_STX | op.BPF_ATOMIC | _SZ[bits], dst=dst, src=src, off=off,
                                  imm=BPF_LOAD_ACQ))
            return True
        m = _L_STOREREL.match(s)
        if m:
            sk, bits, base, sign, num, reg = m.groups()
            if sk != "u":
                raise _Error("store_release stores unsigned values")
            dst, off = _memop(sk, bits, base, sign, num)
            src, _ = _reg(reg, "r" if bits == "64" else "w")
            self.emit(Instruction(op.BPF_STX | op.BPF_ATOMIC | _SZ[bits], dst=dst, src=src, off=off,
                                  imm=BPF_STORE_REL))
            return True
        m = _L_LOAD.match(s)
        if m:
            out, sk, bits, base, sign, num = m.groups()
            src, off = _memop(sk, bits, base, sign, num)
            dst, kind = _reg(out)
            if sk == "s":
                if bits == "64":
                    raise _Error("there is no sign-extending 64-bit load (use u64)")
                if kind != "r":
                    raise _Error("sign-extending loads write a 64-bit register")
                mode = op.BPF_MEMSX
            else:
                if kind == "w" and bits == "64":
                    raise _Error("a 64-bit load needs a 64-bit register")
                mode = op.BPF_MEM
            self.emit(Instruction(op.BPF_LDX | mode | _SZ[bits], dst=dst, src=src, off=off))
            return True
        m = _L_STORE.match(s)
        if m:
            sk, bits, base, sign, num, rhs = m.groups()
            if sk != "u":
                raise _Error("stores take unsigned sizes (u8/u16/u32/u64)")
            dst, off = _memop(sk, bits, base, sign, num)
            rhs = rhs.strip()
            if _REG_RE.match(rhs):
                src, kind = _reg(rhs)
                if kind == "w" and bits == "64":
                    raise _Error("a 64-bit store needs a 64-bit register")
                self.emit(Instruction(op.BPF_STX | op.BPF_MEM | _SZ[bits], dst=dst, src=src, off=off))
            else:
                self.emit(Instruction(op.BPF_ST | op.BPF_MEM | _SZ[bits], dst=dst, off=off, imm=_imm32(rhs)))
            return True
        m = _L_CAST.match(s)
        if m:
            a, _ = _parse_int(m.group(3), "address space")
            b, _ = _parse_int(m.group(4), "address space")
            if not (0 <= a <= 0xFFFF and 0 <= b <= 0xFFFF):
                raise _Error("address spaces must fit in 16 bits")
            self.emit(Instruction(op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, dst=_reg("r" + m.group(1))[0],
                                  src=_reg("r" + m.group(2))[0], off=1, imm=(a << 16) | b))
            return True
        m = _L_END.match(s)
        if m:
            dst, _ = _reg(m.group(1), "r")
            kind, bits, src = m.group(2), int(m.group(3)), m.group(4)
            if _reg(src, "r")[0] != dst:
                raise _Error("byte swap operates on one register (rN = le16 rN)")
            code = {"le": op.BPF_ALU | op.BPF_END | op.BPF_TO_LE, "be": op.BPF_ALU | op.BPF_END | op.BPF_TO_BE,
                    "bswap": op.BPF_ALU64 | op.BPF_END | op.BPF_TO_LE}[kind]
            self.emit(Instruction(code, dst=dst, imm=bits))
            return True
        m = _L_NEG.match(s)
        if m:
            dst, kind = _reg(m.group(1))
            src, kind2 = _reg(m.group(2), kind)
            if src != dst:
                raise _Error("negation operates on one register (rN = -rN)")
            cls = op.BPF_ALU64 if kind == "r" else op.BPF_ALU
            self.emit(Instruction(cls | op.BPF_NEG, dst=dst))
            return True
        m = _L_MOV.match(s)
        if m:
            dst, kind = _reg(m.group(1))
            src, _ = _reg(m.group(3), kind)
            cls = op.BPF_ALU64 if kind == "r" else op.BPF_ALU
            off = int(m.group(2)) if m.group(2) else 0
            self.emit(Instruction(cls | op.BPF_MOV | op.BPF_X, dst=dst, src=src, off=off))
            return True
        m = _L_MOVK.match(s)
        if m:
            dst, kind = _reg(m.group(1))
            cls = op.BPF_ALU64 if kind == "r" else op.BPF_ALU
            self.emit(Instruction(cls | op.BPF_MOV | op.BPF_K, dst=dst, imm=_imm32(m.group(2))))
            return True
        m = _L_ALU.match(s)
        if m:
            dst, kind = _reg(m.group(1))
            sym, rhs = m.group(2), m.group(3).strip()
            cls = op.BPF_ALU64 if kind == "r" else op.BPF_ALU
            off = 1 if sym in ("s/", "s%") else 0
            if _REG_RE.match(rhs):
                src, _ = _reg(rhs, kind)
                self.emit(Instruction(cls | _ALU_OPS[sym] | op.BPF_X, dst=dst, src=src, off=off))
            else:
                self.emit(Instruction(cls | _ALU_OPS[sym], dst=dst, off=off, imm=_imm32(rhs)))
            return True
        m = _L_INSN.match(s)
        if m:
            vals = [_parse_int(g, "field")[0] for g in m.groups()]
            self.emit(Instruction(*vals))
            self.unchecked = True  # a raw escape: encode's range checks only
            return True
        return False

    def _annotated_call(self, number: str, note: str) -> None:
        """``call IMM <annotation>`` as disassemble prints non-helper calls."""
        imm = _imm32(number)
        parts = note.split(":")
        off = 0
        if parts[-1].startswith("off="):
            value, _ = _parse_int(parts.pop()[4:], "call offset")
            off = _off16(value, str(value))
        kind = parts[0]
        if kind == "kfunc":
            name = ":".join(parts[1:])
            ref = KsymReference(name, kfunc=True) if name else None
            self.emit(Instruction(op.CALL, src=op.BPF_PSEUDO_KFUNC_CALL, off=off, imm=imm, reference=ref))
        elif kind.startswith("src="):
            src, _ = _parse_int(kind[4:], "call source")
            self.emit(Instruction(op.CALL, src=src & 0xF, off=off, imm=imm))
        else:
            name = ":".join(parts)
            ref = None if re.fullmatch(r"pc[+-](0[xX][0-9a-fA-F]+|\d+)", name) else FunctionReference(name)
            self.emit(Instruction(op.CALL, src=op.BPF_PSEUDO_CALL, off=off, imm=imm, reference=ref))

    # kernel (verifier log / bpftool) syntax
    def kernel(self, opcode: int, text: str) -> None:
        """``(b7) r0 = 1`` as the verifier prints it: translated to LLVM syntax,
        assembled, and checked against the opcode byte in parentheses."""
        t = text.strip()
        narrow = opcode & 0x07 == op.BPF_STX and opcode & 0x18 != op.BPF_DW
        m = re.fullmatch(r"call pc([+-]\d+)", t)
        if m:
            self.emit(Instruction(op.CALL, src=op.BPF_PSEUDO_CALL, imm=_imm32(m.group(1))))
        elif (m := re.fullmatch(r"call ([\w.$-]+)#(-?\d+)", t)):
            from .disasm import _helper_name

            name, imm = m.group(1), _imm32(m.group(2))
            if name in ("unknown", _helper_name(imm)):
                self.emit(Instruction(op.CALL, imm=imm))
            else:
                ref = None if name == "kernel-function" else KsymReference(name, kfunc=True)
                self.emit(Instruction(op.CALL, src=op.BPF_PSEUDO_KFUNC_CALL, imm=imm, reference=ref))
        else:
            t = re.sub(r"\bgoto pc([+-]\d+)$", r"goto \1", t)
            t = re.sub(r"^(gotol|may_goto) pc([+-]\d+)$", r"\1 \2", t)
            if opcode == op.LD_IMM64:
                t += " ll"
            m = re.fullmatch(r"r(\d+) = atomic(64)?_(fetch_\w+|xchg|cmpxchg)\(\((u\d+) \*\)\((r\d+) ([+-]\d+)\), "
                             r"(?:r0, )?r(\d+)\)", t)
            if m:
                out, _w, what, size, base, off, reg = m.groups()
                w = "w" if narrow else "r"
                if what.startswith("fetch_"):
                    t = f"{w}{out} = atomic_{what}(({size} *)({base} {off}), {w}{reg})"
                elif what == "xchg":
                    t = f"{w}{out} = xchg{'32_32' if narrow else '_64'}({base} {off}, {w}{reg})"
                else:
                    t = f"{w}0 = cmpxchg{'32_32' if narrow else '_64'}({base} {off}, {w}0, {w}{reg})"
            elif narrow:
                t = re.sub(r"^r(\d+) = load_acquire", r"w\1 = load_acquire", t)
                t = re.sub(r"^(store_release\(.*), r(\d+)\)$", r"\1, w\2)", t)
            if not self.llvm(t):
                raise _Error(f"cannot read kernel-syntax instruction {text!r}")
        got = self.insns[-1].opcode
        if got != opcode:
            raise _Error(f"instruction text {text!r} is opcode {got:#04x}, not ({opcode:02x})")

    # conformance (ubpf) syntax
    def conformance(self, s: str) -> bool:
        parts = s.split(None, 1)
        mnem = parts[0].lower()
        rest = parts[1] if len(parts) > 1 else ""
        ops = [o.strip() for o in rest.split(",")] if rest.strip() else []

        def want(n: int) -> None:
            if len(ops) != n:
                raise _Error(f"Invalid number of operands for {mnem}: expected {n}, got {len(ops)}")

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
                    raise _Error("call local needs one label")
                ins = self.emit(Instruction(op.CALL, src=op.BPF_PSEUDO_CALL, reference=FunctionReference(label)))
                self.target(ins, label, "imm")
                return True
            want(1)
            if _REG_RE.match(ops[0]):
                self.emit(Instruction(op.CALLX, dst=_reg(ops[0], "r")[0]))
            else:
                self.emit(Instruction(op.CALL, imm=_imm32(ops[0], conformance=True)))
            return True
        if mnem == "callx":
            want(1)
            self.emit(Instruction(op.CALLX, dst=_reg(ops[0], "r")[0]))
            return True
        if mnem == "lddw":
            want(2)
            self.emit(Instruction(op.LD_IMM64, dst=_reg(ops[0], "r")[0], imm=_imm64(ops[1])))
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
            code = (op.BPF_JMP32 if m.group(2) else op.BPF_JMP) | _JMP_OPS[_CONF_JMP[m.group(1)]]
            dst = _reg(ops[0], "r")[0]
            if _REG_RE.match(ops[1]):
                ins = self.emit(Instruction(code | op.BPF_X, dst=dst, src=_reg(ops[1], "r")[0]))
            else:
                ins = self.emit(Instruction(code, dst=dst, imm=_imm32(ops[1], conformance=True)))
            self.target(ins, ops[2], "off")
            return True
        m = re.fullmatch(r"(ldx|st|stx)(b|h|w|dw)|ldxs(b|h|w)", mnem)
        if m:
            want(2)
            if mnem.startswith("ldx"):
                dst = _reg(ops[0], "r")[0]
                src, off = _conf_mem(ops[1])
                if m.group(3):
                    code = op.BPF_LDX | op.BPF_MEMSX | _CONF_SZ[m.group(3)]
                else:
                    code = op.BPF_LDX | op.BPF_MEM | _CONF_SZ[m.group(2)]
                self.emit(Instruction(code, dst=dst, src=src, off=off))
            elif m.group(1) == "st":
                dst, off = _conf_mem(ops[0])
                self.emit(Instruction(op.BPF_ST | op.BPF_MEM | _CONF_SZ[m.group(2)], dst=dst, off=off,
                                      imm=_imm32(ops[1], conformance=True)))
            else:
                dst, off = _conf_mem(ops[0])
                self.emit(Instruction(op.BPF_STX | op.BPF_MEM | _CONF_SZ[m.group(2)], dst=dst,
                                      src=_reg(ops[1], "r")[0], off=off))
            return True
        m = re.fullmatch(r"ld(abs|ind)(b|h|w)", mnem)
        if m:
            size = _CONF_SZ[m.group(2)]
            if m.group(1) == "abs":
                want(1)
                self.emit(Instruction(op.BPF_LD | op.BPF_ABS | size, imm=_imm32(ops[0], conformance=True)))
            else:
                want(2)
                self.emit(Instruction(op.BPF_LD | op.BPF_IND | size, src=_reg(ops[0], "r")[0],
                                      imm=_imm32(ops[1], conformance=True)))
            return True
        m = re.fullmatch(r"(be|le|bswap|swap)(16|32|64)", mnem)
        if m:
            want(1)
            code = {"le": op.BPF_ALU | op.BPF_END | op.BPF_TO_LE, "be": op.BPF_ALU | op.BPF_END | op.BPF_TO_BE,
                    }.get(m.group(1), op.BPF_ALU64 | op.BPF_END | op.BPF_TO_LE)
            self.emit(Instruction(code, dst=_reg(ops[0], "r")[0], imm=int(m.group(2))))
            return True
        m = re.fullmatch(r"movsx(8|16|32)(32|64)", mnem)
        if m:
            want(2)
            frm, to = int(m.group(1)), m.group(2)
            if to == "32" and frm == 32:
                raise _Error("movsx3232 does not exist")
            cls = op.BPF_ALU if to == "32" else op.BPF_ALU64
            self.emit(Instruction(cls | op.BPF_MOV | op.BPF_X, dst=_reg(ops[0], "r")[0],
                                  src=_reg(ops[1], "r")[0], off=frm))
            return True
        m = re.fullmatch(r"(neg)(32|64)?", mnem)
        if m:
            want(1)
            cls = op.BPF_ALU if m.group(2) == "32" else op.BPF_ALU64
            self.emit(Instruction(cls | op.BPF_NEG, dst=_reg(ops[0], "r")[0]))
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
            dst = _reg(ops[0], "r")[0]
            if _REG_RE.match(ops[1]):
                self.emit(Instruction(code | op.BPF_X, dst=dst, src=_reg(ops[1], "r")[0], off=off))
            else:
                self.emit(Instruction(code, dst=dst, off=off, imm=_imm32(ops[1], conformance=True)))
            return True
        return False

    def _lock(self, rest: str) -> bool:
        words = rest.split(None, 1)
        fetch = False
        if words and words[0].lower() == "fetch":
            fetch = True
            words = words[1].split(None, 1) if len(words) > 1 else []
        if len(words) < 2:
            raise _Error("Invalid number of operands for lock")
        name = words[0].lower()
        ops = [o.strip() for o in words[1].split(",")]
        if len(ops) != 2:
            raise _Error("Invalid number of operands for lock")
        m = re.fullmatch(r"(add|or|and|xor|xchg|cmpxchg)(32|64)?", name)
        if not m:
            raise _Error(f"unknown lock operation {name!r}")
        size = op.BPF_W if m.group(2) == "32" else op.BPF_DW
        base = m.group(1)
        if base in ("xchg", "cmpxchg"):
            if fetch:
                raise _Error(f"lock {base} always fetches; drop 'fetch'")
            imm = op.BPF_XCHG if base == "xchg" else op.BPF_CMPXCHG
        else:
            imm = _ATOMIC_NAMES[base] | (op.BPF_FETCH if fetch else 0)
        dst, off = _conf_mem(ops[0])
        self.emit(Instruction(op.BPF_STX | op.BPF_ATOMIC | size, dst=dst, src=_reg(ops[1], "r")[0],
                              off=off, imm=imm))
        return True


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
        raise _Error(f"invalid memory operand {text.strip()!r} (expected [%rN+off])")
    reg = _reg(m.group(1), "r")[0]
    off = 0
    if m.group(3):
        value, _ = _parse_int(m.group(3), "offset")
        off = _off16(-value if m.group(2) == "-" else value, m.group(2) + m.group(3))
    return reg, off


_KERNEL_PREFIX_RE = re.compile(r"^\s*(?:\d+:\s*)?\([0-9a-f]{2}\)")
_KERNEL_LINE_RE = re.compile(r"^\(([0-9a-f]{2})\)\s*(.*)$")
_COMMENT_RE = re.compile(r"\s*(?:#|//).*$")
_LABEL_RE = re.compile(r"^([A-Za-z_.$][\w.$]*)\s*:(?!=)\s*")
_OBJDUMP_PREFIX_RE = re.compile(r"^\d+:\s+")
_OBJDUMP_BYTES_RE = re.compile(r"^(?:(?:[0-9a-f]{2} ){7}[0-9a-f]{2}(?:\s+|$))+")
# objdump's non-instruction lines: symbol headers, section titles, relocations
_OBJDUMP_NOISE_RE = re.compile(
    r"^(?:[0-9a-f]+ <[^<>]+>:|Disassembly of section .*:|.*:\s+file format .*|[0-9a-f]+:\s+(?:R_BPF_\w+|CO-RE <).*)$")
_ANNOTATION_RE = re.compile(r"\s+<[^<>\s]*>$")


def assemble(text: str) -> list[Instruction]:
    """Assemble LLVM-syntax or conformance-syntax text into instructions.

    Every instruction is checked with :func:`ebpf.isa.codec.validate`; jump
    labels are resolved to slot offsets. ``call local LABEL`` (or ``call LABEL``)
    makes a BPF-to-BPF call carrying a :class:`~ebpf.isa.FunctionReference`.

    >>> from ebpf.isa import assemble, disassemble
    >>> print(disassemble(assemble('''
    ...     mov %r0, 0
    ... loop:
    ...     add %r0, 1
    ...     jne %r0, 10, loop
    ...     exit
    ... ''')))
    r0 = 0x0
    r0 += 0x1
    if r0 != 0xa goto -0x2
    exit
    """
    if not isinstance(text, str):
        raise InstructionError(f"assemble() takes text (str), not {type(text).__name__}")
    a = _Assembler()
    for lineno, raw in enumerate(text.splitlines(), 1):
        a.line = lineno
        if _KERNEL_PREFIX_RE.match(raw):
            # verifier syntax: ';' starts the register-state comment, '#' is in 'call name#id'
            _statement(a, re.sub(r"\s*;.*$", "", raw).strip(), lineno)
            continue
        # LLVM: '#' and '//' start comments, ';' separates statements
        for part in _COMMENT_RE.sub("", raw).split(";"):
            _statement(a, part.strip(), lineno)
    _resolve(a)
    return a.insns


def _statement(a: _Assembler, s: str, lineno: int) -> None:
    """Assemble one statement (a label and/or an instruction) into ``a``."""
    if not s or _OBJDUMP_NOISE_RE.match(s):
        return
    if _OBJDUMP_PREFIX_RE.match(s):
        # a pasted objdump line: "12:  b7 01 00 00 05 00 00 00  r1 = 0x5"
        s = _OBJDUMP_BYTES_RE.sub("", _OBJDUMP_PREFIX_RE.sub("", s))
        if not s:
            return  # the second slot of an lddw, raw bytes only
    while True:
        m = _LABEL_RE.match(s)
        if not m:
            break
        name = m.group(1)
        if name in a.labels:
            raise InstructionError(f"label {name!r} defined twice", line=lineno)
        a.labels[name] = a.slot
        s = s[m.end():]
    if not s:
        return
    if not s.startswith("call"):
        s = _ANNOTATION_RE.sub("", s)
    s = re.sub(r"\s+", " ", s)
    try:
        if s == "<unknown>":
            raise _Error("llvm-objdump could not decode this instruction (<unknown>); "
                         "disassemble the bytes with ebpf.isa.disassemble instead")
        a.unchecked = False
        km = _KERNEL_LINE_RE.match(s)
        if km:
            a.kernel(int(km.group(1), 16), km.group(2))
        elif not (a.llvm(s) or a.conformance(s)):
            word = s.split(None, 1)[0]
            raise _Error(f"unknown instruction or mnemonic {word!r}: {s!r}")
        if a.unchecked:
            from .codec import encode

            encode([a.insns[-1]])
        else:
            validate(a.insns[-1])
    except _Error as e:
        raise InstructionError(str(e), line=lineno) from None
    except InstructionError as e:
        raise InstructionError(e.reason, line=lineno) from None


def _resolve(a: _Assembler) -> None:
    slots = []
    pos = 0
    for ins in a.insns:
        slots.append(pos)
        pos += ins.size
    first_exit = next((slots[i] for i, ins in enumerate(a.insns) if ins.opcode == op.EXIT), None)
    for f in a.fixups:
        target = a.labels.get(f.label)
        if f.field == "symbol":
            if target is not None:
                ins = a.insns[f.index]
                ins.src = op.BPF_PSEUDO_FUNC
                ins.imm = (target - (slots[f.index] + 1)) & 0xFFFFFFFF
                ins.reference = FunctionReference(f.label)
            continue
        if target is None and f.label == "exit":
            target = first_exit  # conformance convention: an undefined 'exit' label is the first exit
        if target is None:
            raise InstructionError(f"unknown label {f.label!r}", line=f.line)
        ins = a.insns[f.index]
        rel = target - (slots[f.index] + 1)
        if f.field == "off":
            if not -0x8000 <= rel <= 0x7FFF:
                raise InstructionError(f"jump to {f.label!r} is too far for a 16-bit offset ({rel})",
                                       line=f.line)
            ins.off = rel
        else:
            ins.imm = rel
